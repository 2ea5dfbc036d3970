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
