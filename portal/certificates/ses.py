"""Electronic seal and electronic signature data, GB/T 38540-2020 (= GM/T 0031 v4), in asn1crypto.

Plain values in, bytes out: no Flask, no database. The structures (GB/T 38540-2020 §6–§7)::

    SESeal ::= SEQUENCE {                      -- 电子印章
        eSealInfo    SES_SealInfo,
        cert         OCTET STRING,             -- 制章者证书 (DER X.509)
        signAlgID    OBJECT IDENTIFIER,        -- 1.2.156.10197.1.501 SM2 with SM3
        signedValue  BIT STRING }              -- 制章者对 eSealInfo 的签名
    SES_SealInfo ::= SEQUENCE { header SES_Header, esID IA5String, property SES_ESPropertyInfo,
                                picture SES_ESPictrueInfo, extDatas ExtensionDatas OPTIONAL }
    SES_Header ::= SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String }
    SES_ESPropertyInfo ::= SEQUENCE { type INTEGER, name UTF8String, certListType INTEGER,
        certList SES_CertList, createDate GeneralizedTime, validStart GeneralizedTime,
        validEnd GeneralizedTime }
    SES_CertList ::= CHOICE { certs CertInfoList (SEQUENCE OF OCTET STRING),      -- certListType 1
                              certDigestList CertDigestList }                       -- certListType 2
    SES_ESPictrueInfo ::= SEQUENCE { type IA5String ("PNG"…), data OCTET STRING,
                                     width INTEGER, height INTEGER }              -- width/height in mm
    SES_Signature ::= SEQUENCE {               -- 电子签章 (what an OFD's SignedValue.dat holds)
        toSign          TBS_Sign,
        cert            OCTET STRING,          -- 签章者证书
        signatureAlgID  OBJECT IDENTIFIER,
        signature       BIT STRING,            -- 签章者对 toSign 的签名
        timeStamp   [0] BIT STRING OPTIONAL }
    TBS_Sign ::= SEQUENCE { version INTEGER (4), eseal SESeal, timeInfo GeneralizedTime,
        dataHash BIT STRING,                   -- SM3 of the signed original: the OFD's Signature.xml
        propertyInfo IA5String,                -- the original's location, e.g. /Doc_0/Signs/Sign_0/Signature.xml
        extDatas [0] EXPLICIT ExtensionDatas OPTIONAL }

What is signed follows the de-facto reference implementation ofdrw (org.ofdrw.gm.ses.v4 and
org.ofdrw.sign.signContainer.SESV4Container, github.com/ofdrw/ofdrw) and the GM/T 0031/GB/T 38540
verifier github.com/Chingliu/gm_0031_38540_verifier, which agree: the maker signs the DER of
``SES_SealInfo``; the signer signs the DER of ``TBS_Sign``; both SM2 with SM3 and the default ID;
signature values are DER ``SEQUENCE { r, s }`` inside the BIT STRING.
"""
from __future__ import annotations

import datetime as dt

from asn1crypto import core

from .sm2 import OID_SM2_WITH_SM3, sm3

__all__ = ["SES_VERSION", "CertInfoList", "SESeal", "SesSealInfo", "SesSignature", "TbsSign",
           "make_seal", "make_signature"]

SES_VERSION = 4
CERT_LIST_CERTS = 1
SEAL_TYPE_OFFICIAL = 1  # 单位印章


class SesHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class SesEsPropertyInfo(core.Sequence):
    # certList is a CHOICE of two untagged SEQUENCE OFs told apart by certListType: kept as Any here
    # and read with :func:`cert_list`.
    _fields = [("type", core.Integer), ("name", core.UTF8String), ("cert_list_type", core.Integer),
               ("cert_list", core.Any), ("create_date", core.GeneralizedTime),
               ("valid_start", core.GeneralizedTime), ("valid_end", core.GeneralizedTime)]


class SesEsPictureInfo(core.Sequence):
    _fields = [("type", core.IA5String), ("data", core.OctetString), ("width", core.Integer),
               ("height", core.Integer)]


class ExtensionData(core.Sequence):
    _fields = [("extn_id", core.ObjectIdentifier), ("critical", core.Boolean, {"default": False}),
               ("extn_value", core.OctetString)]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtensionData


class SesSealInfo(core.Sequence):
    _fields = [("header", SesHeader), ("es_id", core.IA5String), ("property", SesEsPropertyInfo),
               ("picture", SesEsPictureInfo), ("ext_datas", ExtensionDatas, {"optional": True})]


class SESeal(core.Sequence):
    _fields = [("e_seal_info", SesSealInfo), ("cert", core.OctetString), ("sign_alg_id", core.ObjectIdentifier),
               ("signed_value", core.OctetBitString)]


class TbsSign(core.Sequence):
    _fields = [("version", core.Integer), ("eseal", SESeal), ("time_info", core.GeneralizedTime),
               ("data_hash", core.OctetBitString), ("property_info", core.IA5String),
               ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True})]


class SesSignature(core.Sequence):
    _fields = [("to_sign", TbsSign), ("cert", core.OctetString), ("signature_alg_id", core.ObjectIdentifier),
               ("signature", core.OctetBitString), ("time_stamp", core.OctetBitString,
                                                    {"explicit": 0, "optional": True})]


def cert_list(prop: SesEsPropertyInfo) -> list[bytes] | None:
    """The signer certificates (DER) a seal lists, or None when it lists digests (certListType 2)."""
    if prop["cert_list_type"].native != CERT_LIST_CERTS:
        return None
    return [bytes(c) for c in CertInfoList.load(prop["cert_list"].dump()).native]


def _utc(value: dt.datetime) -> dt.datetime:
    # GeneralizedTime in UTC, whole seconds (DER forbids a trailing fractional zero and local times).
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def make_seal(*, es_id: str, vendor_id: str, name: str, signer_certs: list[bytes], picture_png: bytes,
              picture_mm: tuple[int, int], valid_start: dt.datetime, valid_end: dt.datetime,
              created: dt.datetime, maker_cert: bytes, maker_sign) -> bytes:
    """DER ``SESeal`` (v4) of an official seal (单位印章) signed by the maker: ``maker_sign(der) -> DER sig``."""
    info = SesSealInfo({
        "header": {"id": "ES", "version": SES_VERSION, "vid": vendor_id},
        "es_id": es_id,
        "property": {
            "type": SEAL_TYPE_OFFICIAL, "name": name, "cert_list_type": CERT_LIST_CERTS,
            "cert_list": core.Any.load(CertInfoList(signer_certs).dump()),
            "create_date": _utc(created), "valid_start": _utc(valid_start), "valid_end": _utc(valid_end),
        },
        "picture": {"type": "PNG", "data": picture_png, "width": picture_mm[0], "height": picture_mm[1]},
    })
    return SESeal({"e_seal_info": info, "cert": maker_cert, "sign_alg_id": OID_SM2_WITH_SM3,
                   "signed_value": maker_sign(info.dump())}).dump()


def make_signature(*, seal: bytes, signer_cert: bytes, signed_data: bytes, property_info: str,
                   signed_at: dt.datetime, sign) -> bytes:
    """DER ``SES_Signature`` (v4) over *signed_data* (the OFD's Signature.xml): ``sign(tbs) -> DER sig``."""
    tbs = TbsSign({"version": SES_VERSION, "eseal": SESeal.load(seal), "time_info": _utc(signed_at),
                   "data_hash": sm3(signed_data), "property_info": property_info})
    return SesSignature({"to_sign": tbs, "cert": signer_cert, "signature_alg_id": OID_SM2_WITH_SM3,
                         "signature": sign(tbs.dump())}).dump()
