"""certs pdf / certs verify / authority init-key on the command line."""
from portal.auth.models import User
from portal.certificates.issuing import cancel_certificate, issue_certificate
from portal.extensions import db
from portal.platform.service import person_finder
from tests.factories import issuable_certificate, issuable_persons


def _issue():
    clerk = db.session.scalar(db.select(User).filter_by(username="clerk"))
    return clerk, issue_certificate(clerk, issuable_certificate(), issuable_persons())


def test_pdf_then_verify_passes_for_a_valid_certificate(demo, runner, tmp_path):
    _, cert = _issue()
    out = tmp_path / "cert.pdf"
    result = runner.invoke(args=["certs", "pdf", cert.number, str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["certs", "verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "签名：有效" in result.output and "验证通过" in result.output and cert.number in result.output


def test_verify_fails_for_a_changed_byte(demo, runner, tmp_path):
    _, cert = _issue()
    out = tmp_path / "cert.pdf"
    runner.invoke(args=["certs", "pdf", cert.number, str(out)])
    data = bytearray(out.read_bytes())
    index = data.index(b"stream") + 20  # inside the first content stream, within the signed range
    data[index] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    result = runner.invoke(args=["certs", "verify", str(tampered)])
    assert result.exit_code == 1 and "验证未通过" in result.output


def test_verify_fails_for_a_cancelled_certificate(demo, runner, tmp_path):
    clerk, cert = _issue()
    out = tmp_path / "cert.pdf"
    runner.invoke(args=["certs", "pdf", cert.number, str(out)])
    cancel_certificate(clerk, cert, "设备已拆除", find_person=person_finder())
    result = runner.invoke(args=["certs", "verify", str(out)])
    assert result.exit_code == 1 and "已注销" in result.output and "签名：有效" in result.output


def test_pdf_of_an_unknown_number_is_a_clear_error(demo, runner, tmp_path):
    result = runner.invoke(args=["certs", "pdf", "140105T（2025）9999999", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "不存在" in result.output


def test_init_key_refuses_to_overwrite_and_knows_unknown_authorities(demo, runner):
    result = runner.invoke(args=["authority", "init-key", "11140100MB0000002K"])
    assert result.exit_code != 0 and "已有签章密钥" in result.output
    result = runner.invoke(args=["authority", "init-key", "140300"])
    assert result.exit_code != 0 and "不存在" in result.output


def test_ofd_then_verify_passes_and_names_the_certificate(demo, runner, tmp_path):
    from portal.standard.license_id import LicenseId
    from tests.certificates.ofd_helpers import unzip
    _, cert = _issue()
    out = tmp_path / "cert.ofd"
    result = runner.invoke(args=["certs", "ofd", cert.number, str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"PK\x03\x04"
    result = runner.invoke(args=["certs", "verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "电子签章：有效" in result.output and "验证通过" in result.output and cert.number in result.output
    assert f"电子证照标识：{cert.license_id}" in result.output
    assert LicenseId.parse(cert.license_id).authority_uscc == cert.authority_uscc
    ofd_xml = unzip(out.read_bytes())["OFD.xml"].decode()
    assert f'<ofd:CustomData Name="电子证照标识">{cert.license_id}</ofd:CustomData>' in ofd_xml


def test_ofd_verify_fails_for_one_changed_byte_in_a_file_of_the_package(demo, runner, tmp_path):
    from tests.certificates.ofd_helpers import rezip, unzip
    _, cert = _issue()
    out = tmp_path / "cert.ofd"
    runner.invoke(args=["certs", "ofd", cert.number, str(out)])
    files = unzip(out.read_bytes())
    content = bytearray(files["Doc_0/Pages/Page_0/Content.xml"])
    content[content.index(cert.holder_name.encode())] ^= 0x01
    tampered = tmp_path / "tampered.ofd"
    tampered.write_bytes(rezip({**files, "Doc_0/Pages/Page_0/Content.xml": bytes(content)}))
    result = runner.invoke(args=["certs", "verify", str(tampered)])
    assert result.exit_code == 1 and "验证未通过" in result.output and "摘要不符" in result.output
    assert "查无此证" in result.output  # a tampered file names no certificate


def test_ofd_verify_fails_for_a_cancelled_certificate(demo, runner, tmp_path):
    clerk, cert = _issue()
    out = tmp_path / "cert.ofd"
    runner.invoke(args=["certs", "ofd", cert.number, str(out)])
    cancel_certificate(clerk, cert, "设备已拆除", find_person=person_finder())
    result = runner.invoke(args=["certs", "verify", str(out)])
    assert result.exit_code == 1 and "已注销" in result.output and "电子签章：有效" in result.output


def test_verify_of_garbage_is_a_verdict_not_a_trace(demo, runner, tmp_path):
    for name, data in (("empty.ofd", b""), ("broken.ofd", b"PK\x03\x04" + b"\x00" * 100)):
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(args=["certs", "verify", str(path)])
        assert result.exit_code == 1 and "验证未通过" in result.output and "Traceback" not in result.output


def test_ofd_of_an_unknown_number_or_an_authority_without_seal_is_a_clear_error(demo, runner, tmp_path):
    import shutil
    from portal.certificates import seal_keys
    result = runner.invoke(args=["certs", "ofd", "140105T（2025）9999999", str(tmp_path / "x.ofd")])
    assert result.exit_code != 0 and "不存在" in result.output
    shutil.rmtree(seal_keys.sm2_pki().authority_dir("11140100MB0000002K"))
    _, cert = _issue()
    result = runner.invoke(args=["certs", "ofd", cert.number, str(tmp_path / "x.ofd")])
    assert result.exit_code != 0 and "SM2 电子印章" in result.output and "init-key" in result.output
    assert not (tmp_path / "x.ofd").exists()


def test_init_key_makes_the_missing_sm2_seal_without_replacing_the_pdf_key(demo, runner):
    import shutil
    from portal.certificates import keys, seal_keys
    uscc = "11140100MB0000002K"
    pdf_cert = (keys.dev_pki().authority_dir(uscc) / "cert.pem").read_bytes()
    shutil.rmtree(seal_keys.sm2_pki().authority_dir(uscc))
    assert not seal_keys.has_seal_key(uscc)
    result = runner.invoke(args=["authority", "init-key", uscc])
    assert result.exit_code == 0, result.output
    assert seal_keys.has_seal_key(uscc) and (keys.dev_pki().authority_dir(uscc) / "cert.pem").read_bytes() == pdf_cert


def test_init_key_seals_the_ofds_its_certificates_lack_and_ofd_backfill_finds_none_left(demo, runner, tmp_path):
    import shutil
    from portal.certificates import seal_keys
    uscc = "11140100MB0000002K"
    shutil.rmtree(seal_keys.sm2_pki().authority_dir(uscc))
    _, cert = _issue()
    assert (cert.pdf_state, cert.ofd_state) == ("signed", "failed") and "SM2 电子印章" in cert.ofd_error
    result = runner.invoke(args=["authority", "init-key", uscc])
    assert result.exit_code == 0 and "已补签 OFD 电子证照 1 份" in result.output, result.output
    db.session.refresh(cert)
    assert (cert.ofd_state, cert.ofd_error) == ("signed", None)
    result = runner.invoke(args=["certs", "ofd", cert.number, str(tmp_path / "x.ofd")])
    assert result.exit_code == 0 and runner.invoke(args=["certs", "verify", str(tmp_path / "x.ofd")]).exit_code == 0
    assert "没有缺少 OFD 电子证照的证书" in runner.invoke(args=["certs", "ofd-backfill"]).output
