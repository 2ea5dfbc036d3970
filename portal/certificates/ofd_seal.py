"""The electronic seal of an OFD (GB/T 33190-2016 §18 signatures, GB/T 38540-2020 seal data).

Plain values in, bytes out: no Flask, no database. :func:`seal_ofd` adds to an :class:`OfdPackage`
built with ``signed=True``::

    Doc_0/Signs/Signatures.xml            MaxSignId, Signature ID="1" Type="Seal" BaseLoc=…/Signature.xml
    Doc_0/Signs/Sign_0/Signature.xml      SignedInfo: Provider, SignatureMethod (SM2 with SM3),
                                          SignatureDateTime, References CheckMethod=SM3 with one Reference
                                          (FileRef, base64 SM3 CheckValue) per file of the package — every
                                          file but this Signature.xml and the SignedValue.dat, Signatures.xml
                                          and OFD.xml included —, and a StampAnnot placing the seal picture
                                          in the page's seal box; then SignedValue (its location)
    Doc_0/Signs/Sign_0/SignedValue.dat    DER SES_Signature v4 (:func:`.ses.make_signature`): dataHash =
                                          SM3 of Signature.xml, propertyInfo = Signature.xml's location,
                                          signed by the authority's SealSigner

This is the flow of ofdrw's OFDSigner (``SignMode.WholeProtected``: the references cover
Signatures.xml, so no later signature can be appended without breaking this one) — see
github.com/ofdrw/ofdrw ofdrw-sign/…/OFDSigner.java. Locations are absolute ("/Doc_0/…"), as ofdrw
writes them and as easyofd resolves them.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt

from .ofd import OFD_NS, SIGNATURES_PATH, XML_DECL, OfdPackage, ofd_box, build_ofd
from .page import Page
from .seal_signer import SealSigner
from .ses import make_signature
from .sm2 import OID_SM2_WITH_SM3, OID_SM3, sm3

__all__ = ["SIGNATURE_XML", "SIGNED_VALUE", "seal_ofd", "sealed_ofd_from_page"]

SIGN_DIR = "Doc_0/Signs/Sign_0/"
SIGNATURE_XML = SIGN_DIR + "Signature.xml"
SIGNED_VALUE = SIGN_DIR + "SignedValue.dat"
PROVIDER = 'ProviderName="证照管理系统电子签章" Version="1.0" Company="山西省住房和城乡建设厅"'


def _signature_xml(files: dict[str, bytes], package: OfdPackage, signed_at: dt.datetime) -> bytes:
    references = "".join(
        f'<ofd:Reference FileRef="/{path}"><ofd:CheckValue>{base64.b64encode(sm3(data)).decode()}'
        f'</ofd:CheckValue></ofd:Reference>' for path, data in files.items())
    x, y, w, h = package.seal_box_mm
    return (
        f'{XML_DECL}<ofd:Signature xmlns:ofd="{OFD_NS}"><ofd:SignedInfo><ofd:Provider {PROVIDER}/>'
        f'<ofd:SignatureMethod>{OID_SM2_WITH_SM3}</ofd:SignatureMethod>'
        f'<ofd:SignatureDateTime>{signed_at.astimezone(dt.timezone.utc):%Y%m%d%H%M%SZ}</ofd:SignatureDateTime>'
        f'<ofd:References CheckMethod="{OID_SM3}">{references}</ofd:References>'
        f'<ofd:StampAnnot ID="1" PageRef="{package.page_id}" Boundary="{ofd_box(x, y, w, h)}"/>'
        f'</ofd:SignedInfo><ofd:SignedValue>/{SIGNED_VALUE}</ofd:SignedValue></ofd:Signature>').encode()


def seal_ofd(package: OfdPackage, signer: SealSigner, signed_at: dt.datetime | None = None) -> bytes:
    """The OFD bytes of *package* (built with ``signed=True``) under *signer*'s electronic seal."""
    if f"<ofd:Signatures>{SIGNATURES_PATH}</ofd:Signatures>".encode() not in package.files["OFD.xml"]:
        raise ValueError("build the package with signed=True: OFD.xml must name the signature list")
    signed_at = signed_at or dt.datetime.now(dt.timezone.utc)
    files = dict(package.files)
    files[SIGNATURES_PATH] = (
        f'{XML_DECL}<ofd:Signatures xmlns:ofd="{OFD_NS}"><ofd:MaxSignId>1</ofd:MaxSignId>'
        f'<ofd:Signature ID="1" Type="Seal" BaseLoc="/{SIGNATURE_XML}"/></ofd:Signatures>').encode()
    signature_xml = _signature_xml(files, package, signed_at)
    files[SIGNATURE_XML] = signature_xml
    files[SIGNED_VALUE] = make_signature(seal=signer.seal, signer_cert=signer.certificate, signed_data=signature_xml,
                                         property_info=f"/{SIGNATURE_XML}", signed_at=signed_at, sign=signer.sign)
    return dataclasses.replace(package, files=files).to_bytes()


def sealed_ofd_from_page(page: Page, signer: SealSigner, *, created: dt.datetime | None = None,
                         custom_data: dict[str, str] | None = None, author: str = "") -> bytes:
    """The OFD of *page* sealed by *signer* (the one call the issuing pipeline needs)."""
    created = created or dt.datetime.now(dt.timezone.utc)
    package = build_ofd(page, created=created, custom_data=custom_data, author=author, signed=True)
    return seal_ofd(package, signer, signed_at=created)
