"""Verifying an OFD under an SM2 electronic seal; never raises, always a verdict.

Plain values in, a verdict out: no Flask, no database. :func:`verify_ofd` checks, in this order, and
reports the first failure of each kind in Chinese:

1. the input: at most ``max_bytes``, a zip, at most 200 members and 50 MB uncompressed, every member's
   CRC, no duplicate or escaping names, XML without DTDs (so no entity expansion);
2. the package: OFD.xml → DocBody/Signatures → Signatures.xml → each Signature (BaseLoc);
3. Signature.xml: SignatureMethod SM2 with SM3, CheckMethod SM3, every Reference's CheckValue against
   the SM3 of the file it names, and that every file of the package is covered (all but this
   Signature.xml and its SignedValue.dat) — one changed byte anywhere is a digest mismatch;
4. SignedValue.dat: a DER SES_Signature v4 (GB/T 38540) whose dataHash is the SM3 of Signature.xml and
   whose propertyInfo names it; the signer's SM2 signature over TBS_Sign;
5. the seal (SESeal in TBS_Sign): header "ES" v4, the maker's SM2 signature over SES_SealInfo, the
   signer certificate listed in its certList, the signing time inside the seal's validity;
6. trust: the signer and maker certificates issued by one of ``trust_roots`` (SM2 with SM3) and valid at
   the signing time; the StampAnnot on a page of the document.

What is checked and how follows GB/T 38540-2020 §8 (verification of an electronic signature) as the
reference implementations do it (ofdrw's OFDValidator + SESV4ValidateContainer; Chingliu's
gm_0031_38540_verifier) — see the docstrings of :mod:`.ses` and :mod:`.ofd_seal`.

The zip container's own metadata (timestamps, extra fields, comments) is not part of what GB/T 38540
signs — a reader never uses it; every file's *content* is.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import logging
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from xml.etree import ElementTree

from asn1crypto import x509

from .ofd import OFD_NS
from .ses import SES_VERSION, SesSignature, cert_list
from .sm2 import OID_SM2_WITH_SM3, OID_SM3, sm3
from .sm2_pki import certificate_public_key, issued_by, load_certificate

log = logging.getLogger(__name__)

__all__ = ["MAX_OFD_BYTES", "OfdCheck", "read_ofd_info", "verify_ofd"]

MAX_OFD_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 200
MAX_UNPACKED = 50 * 1024 * 1024
_NS = {"ofd": OFD_NS}

MSG_VALID = "电子签章有效"
MSG_UNSIGNED = "文件未加盖电子印章"
MSG_NOT_OFD = "不是 OFD 文件（OFD 文件是 ZIP 格式的文件包）"
MSG_TOO_LARGE = "文件过大（超过 {mb} MB），不是本系统签发的电子证照"
MSG_DAMAGED = "文件已损坏或不完整，无法验证电子签章"
MSG_UNTRUSTED = "签章证书不受信任"


@dataclass(frozen=True)
class OfdCheck:
    """The verdict on one OFD. ``doc_info`` (Title and CustomData of OFD.xml) is only as good as ``intact``."""

    signed: bool
    valid: bool
    intact: bool
    trusted: bool
    message: str
    signer: str | None = None
    seal_name: str | None = None
    signed_at: dt.datetime | None = None
    problems: tuple[str, ...] = ()
    doc_info: dict = field(default_factory=dict)


class _Refused(Exception):
    """The input cannot be checked further: this message is the verdict."""


def _read_package(data: bytes, max_bytes: int) -> dict[str, bytes]:
    if len(data) > max_bytes:
        raise _Refused(MSG_TOO_LARGE.format(mb=max_bytes // (1024 * 1024)))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _Refused(MSG_NOT_OFD) from None
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED:
        raise _Refused("文件包中的文件过多或过大，不是本系统签发的电子证照")
    files: dict[str, bytes] = {}
    budget = MAX_UNPACKED
    for info in infos:
        name = info.filename
        if name in files or name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise _Refused("文件包中有重复或不合规的文件名，不是本系统签发的电子证照")
        try:
            with archive.open(info) as member:
                content = member.read(min(info.file_size, budget) + 1)
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError, OSError):
            raise _Refused(MSG_DAMAGED) from None
        if len(content) > info.file_size:  # a member longer than its header says
            raise _Refused(MSG_DAMAGED)
        budget -= len(content)
        files[name] = content
    return files


def _xml(files: dict[str, bytes], path: str) -> ElementTree.Element:
    data = files.get(path)
    if data is None:
        raise _Refused(f"文件包缺少 {path}")
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # UTF-16 would hide a DTD from the check below
        raise _Refused(f"{path} 不是 UTF-8 编码的 XML")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _Refused(f"{path} 含有不允许的 DTD 声明")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError:
        raise _Refused(f"{path} 不是有效的 XML（文件已损坏）") from None


def _loc(base_file: str, loc: str | None) -> str:
    """A ST_Loc inside the package: absolute ('/…') from the root, otherwise from *base_file*'s folder."""
    loc = (loc or "").strip()
    joined = loc[1:] if loc.startswith("/") else posixpath.join(posixpath.dirname(base_file), loc)
    return posixpath.normpath(joined)


def _text(element: ElementTree.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def read_ofd_info(files: dict[str, bytes]) -> dict:
    """Title, Keywords (joined by spaces) and CustomData (name → value) of OFD.xml's DocInfo."""
    info: dict[str, str] = {}
    doc_info = _xml(files, "OFD.xml").find("ofd:DocBody/ofd:DocInfo", _NS)
    if doc_info is not None:
        info["Title"] = _text(doc_info.find("ofd:Title", _NS))
        info["Keywords"] = " ".join(_text(k) for k in doc_info.findall("ofd:Keywords/ofd:Keyword", _NS))
        for item in doc_info.findall("ofd:CustomDatas/ofd:CustomData", _NS):
            info[item.get("Name", "")] = _text(item)
    return info


def _roots(trust_roots: Iterable) -> list[x509.Certificate]:
    roots = []
    for item in trust_roots or ():
        try:
            if isinstance(item, x509.Certificate):
                roots.append(item)
            else:
                roots.append(load_certificate(Path(item).read_bytes() if isinstance(item, (str, Path)) else item))
        except Exception as exc:  # an unusable root only makes seals untrusted
            log.warning("ignoring unusable SM2 trust root (%s)", type(exc).__name__)
    return roots


def _chains(cert: x509.Certificate, roots: list[x509.Certificate], at: dt.datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    if not validity["not_before"].native <= at <= validity["not_after"].native:
        return False
    return any(issued_by(cert, root) for root in roots)


def _page_ids(files: dict[str, bytes]) -> set[str]:
    root = _xml(files, "OFD.xml")
    document = _loc("OFD.xml", _text(root.find("ofd:DocBody/ofd:DocRoot", _NS)))
    return {page.get("ID", "") for page in _xml(files, document).findall("ofd:Pages/ofd:Page", _NS)}


def _check_signature(files: dict[str, bytes], signature_path: str, roots: list[x509.Certificate],
                     page_ids: set[str]) -> dict:
    """Check one seal; returns its findings (problems, intact, trusted, signer, seal name, time)."""
    found = {"problems": [], "intact": True, "trusted": True, "signer": None, "seal_name": None, "signed_at": None}

    def problem(text: str, breaks_integrity: bool = True):
        found["problems"].append(text)
        if breaks_integrity:
            found["intact"] = False

    signature = _xml(files, signature_path)
    info = signature.find("ofd:SignedInfo", _NS)
    if info is None:
        raise _Refused(f"{signature_path} 缺少 SignedInfo")
    if _text(info.find("ofd:SignatureMethod", _NS)) != OID_SM2_WITH_SM3:
        problem("签名算法不是 SM2（1.2.156.10197.1.501）", breaks_integrity=False)
    references = info.find("ofd:References", _NS)
    if references is None or references.get("CheckMethod", "").strip() not in (OID_SM3, "SM3", "sm3"):
        raise _Refused("签章的摘要算法不是 SM3，或缺少受保护文件列表")
    signed_value_path = _loc(signature_path, _text(signature.find("ofd:SignedValue", _NS)))

    covered = set()
    for reference in references.findall("ofd:Reference", _NS):
        path = _loc(signature_path, reference.get("FileRef"))
        covered.add(path)
        try:
            expected = base64.b64decode(_text(reference.find("ofd:CheckValue", _NS)), validate=True)
        except (binascii.Error, ValueError):
            expected = b""
        if path not in files:
            problem(f"受保护的文件 /{path} 不在文件包中")
        elif sm3(files[path]) != expected:
            problem(f"文件 /{path} 在签章后被修改（摘要不符）")
    for path in sorted(set(files) - covered - {signature_path, signed_value_path}):
        problem(f"文件 /{path} 不在签章保护范围内（签章后被加入）")

    stamp = info.find("ofd:StampAnnot", _NS)
    if stamp is None or stamp.get("PageRef", "").strip() not in page_ids:
        problem("签章外观（StampAnnot）没有指向文档中的页面", breaks_integrity=False)

    raw = files.get(signed_value_path)
    if raw is None:
        raise _Refused(f"文件包缺少签章数据 /{signed_value_path}")
    try:
        ses = SesSignature.load(raw, strict=True)
        ses.native  # parse the whole structure now
        tbs = ses["to_sign"]
        seal = tbs["eseal"]
        seal_info = seal["e_seal_info"]
        signer_cert = load_certificate(bytes(ses["cert"].native))
        maker_cert = load_certificate(bytes(seal["cert"].native))
    except Exception:
        raise _Refused("签章数据（SignedValue.dat）无法解析，文件已损坏或被篡改") from None

    signed_at = tbs["time_info"].native
    found.update(signer=signer_cert.subject.native.get("common_name"),
                 seal_name=seal_info["property"]["name"].native, signed_at=signed_at)
    if tbs["version"].native != SES_VERSION or ses["signature_alg_id"].dotted != OID_SM2_WITH_SM3:
        problem("签章数据不是 GB/T 38540 第 4 版的 SM2 电子签章", breaks_integrity=False)
    if tbs["data_hash"].native != sm3(files[signature_path]):
        problem(f"签名描述文件 /{signature_path} 在签章后被修改（摘要不符）")
    if _loc(signature_path, tbs["property_info"].native) != signature_path:
        problem("签章数据指向的原文不是本签名描述文件")
    try:
        signature_ok = certificate_public_key(signer_cert).verify(tbs.dump(), ses["signature"].native)
    except Exception:
        signature_ok = False
    if not signature_ok:
        problem("电子签章的 SM2 签名值无效")

    header = seal_info["header"]
    if header["id"].native != "ES" or header["version"].native != SES_VERSION:
        problem("电子印章不是 GB/T 38540 第 4 版的印章数据", breaks_integrity=False)
    try:
        maker_ok = seal["sign_alg_id"].dotted == OID_SM2_WITH_SM3 and certificate_public_key(maker_cert).verify(
            seal_info.dump(), seal["signed_value"].native)
    except Exception:
        maker_ok = False
    if not maker_ok:
        problem("电子印章的制章者签名无效（印章被篡改或伪造）")
    listed = cert_list(seal_info["property"])
    if listed is None or signer_cert.dump() not in listed:
        problem("签章者证书不在电子印章的证书列表中（不是此印章的使用者）", breaks_integrity=False)
    prop = seal_info["property"]
    if not prop["valid_start"].native <= signed_at <= prop["valid_end"].native:
        problem("签章时间不在电子印章有效期内", breaks_integrity=False)

    for cert, who in ((signer_cert, "签章者"), (maker_cert, "制章者")):
        if not _chains(cert, roots, signed_at):
            found["trusted"] = False
            found["problems"].append(f"{who}证书不受信任（不是受信任的根证书签发，或签章时不在有效期内）")
    return found


def verify_ofd(data: bytes, trust_roots: Iterable, *, max_bytes: int = MAX_OFD_BYTES) -> OfdCheck:
    """Check an OFD's electronic seal(s) against *trust_roots* (SM2 root certificates); never raises."""
    try:
        files = _read_package(bytes(data or b""), max_bytes)
        doc_info = read_ofd_info(files)
        root = _xml(files, "OFD.xml")
        signatures_loc = _text(root.find("ofd:DocBody/ofd:Signatures", _NS))
        if not signatures_loc:
            return OfdCheck(False, False, False, False, MSG_UNSIGNED, doc_info=doc_info)
        signatures_path = _loc("OFD.xml", signatures_loc)
        entries = _xml(files, signatures_path).findall("ofd:Signature", _NS)
        if not entries:
            return OfdCheck(False, False, False, False, MSG_UNSIGNED, doc_info=doc_info)
        roots, page_ids = _roots(trust_roots), _page_ids(files)
        results = [_check_signature(files, _loc(signatures_path, entry.get("BaseLoc")), roots, page_ids)
                   for entry in entries]
    except _Refused as refused:
        return OfdCheck(True, False, False, False, str(refused), problems=(str(refused),))
    except Exception as exc:  # anything else a hostile file provokes is a damaged file, never a trace
        log.info("OFD check failed: %s", type(exc).__name__)
        return OfdCheck(True, False, False, False, MSG_DAMAGED, problems=(MSG_DAMAGED,))

    problems = tuple(p for r in results for p in r["problems"])
    intact = all(r["intact"] for r in results)
    trusted = all(r["trusted"] for r in results)
    valid = not problems
    first = results[0]
    message = MSG_VALID if valid else problems[0]
    return OfdCheck(signed=True, valid=valid, intact=intact, trusted=trusted, message=message,
                    signer=first["signer"], seal_name=first["seal_name"], signed_at=first["signed_at"],
                    problems=problems, doc_info=doc_info)
