"""系统管理: users, authorities, audit log."""
import re
from datetime import timedelta

from portal.audit import AuditEntry
from portal.auth.models import User
from portal.certificates.authorities import Authority
from portal.extensions import db


def _user(name):
    return db.session.scalar(db.select(User).filter_by(username=name))


def test_admin_creates_a_clerk_with_signing_right(login_as):
    client = login_as("admin")
    taiyuan = db.session.scalar(db.select(Authority).filter_by(uscc="11140100MB0000002K"))
    response = client.post("/admin/users/new", data={
        "username": "newclerk", "display_name": "新录证员", "role": "clerk", "phone": "13900000009",
        "authorities": [taiyuan.id], "can_sign": "y", "password": "long-enough-1"})
    assert response.status_code == 303
    user = _user("newclerk")
    assert user.can_sign and user.authorities == [taiyuan] and user.check_password("long-enough-1")
    assert db.session.scalar(db.select(AuditEntry).filter_by(action="user.create", target="newclerk"))


def test_clerk_without_authority_is_refused_with_a_message(login_as):
    client = login_as("admin")
    page = client.post("/admin/users/new", data={
        "username": "lonely", "role": "clerk", "phone": "13900000009", "password": "long-enough-1"}
    ).get_data(as_text=True)
    assert "必须属于至少一个发证机关" in page and _user("lonely") is None


def test_bad_phone_is_refused(login_as):
    page = login_as("admin").post("/admin/users/new", data={
        "username": "x1", "role": "delegate", "phone": "12345", "password": "long-enough-1"}).get_data(as_text=True)
    assert "手机号码应为 11 位数字" in page and _user("x1") is None


def test_disable_and_reset_password(login_as):
    client = login_as("admin")
    clerk2 = _user("clerk2")
    assert client.post(f"/admin/users/{clerk2.id}/enabled", data={"enabled": "0"}).status_code == 303
    db.session.refresh(clerk2)
    assert not clerk2.is_enabled
    client.post(f"/admin/users/{clerk2.id}/password", data={"password": "brand-new-pass"})
    db.session.refresh(clerk2)
    assert clerk2.check_password("brand-new-pass")
    actions = set(db.session.scalars(db.select(AuditEntry.action).filter_by(target="clerk2")))
    assert {"user.disable", "user.reset_password"} <= actions


def test_admin_cannot_disable_self(login_as):
    client = login_as("admin")
    admin = _user("admin")
    page = client.post(f"/admin/users/{admin.id}/enabled", data={"enabled": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in page.get_data(as_text=True)


def test_authority_uscc_check_character_is_enforced(login_as):
    client = login_as("admin")
    page = client.post("/admin/authorities/new", data={
        "name": "阳泉市住房和城乡建设局", "uscc": "91350100M000100Y4Z", "division_code": "140300"}).get_data(as_text=True)
    assert "校验" in page
    assert db.session.scalar(db.select(Authority).filter_by(division_code="140300")) is None


def test_authority_jurisdiction_defaults_to_the_city(login_as):
    taiyuan = db.session.scalar(db.select(Authority).filter_by(uscc="11140100MB0000002K"))
    assert {"140105", "140106", "140121", "140181"} <= taiyuan.jurisdiction
    assert "140212" not in taiyuan.jurisdiction


def test_unknown_jurisdiction_code_is_refused(login_as):
    client = login_as("admin")
    taiyuan = db.session.scalar(db.select(Authority).filter_by(uscc="11140100MB0000002K"))
    page = client.post(f"/admin/authorities/{taiyuan.id}", data={
        "name": taiyuan.name, "uscc": taiyuan.uscc, "division_code": "140100", "jurisdiction": "140105 999999"}
    ).get_data(as_text=True)
    assert "999999" in page and "不在山西省区划代码表中" in page


def test_audit_log_lists_logins(login_as):
    client = login_as("admin")
    page = client.get("/admin/audit?action=login").get_data(as_text=True)
    assert "发送登录短信验证码" in page and "登录成功" in page and "admin" in page
    assert ">login.code_sent<" not in page and "时间（北京时间）" in page
    entry = db.session.scalar(db.select(AuditEntry).filter_by(action="login").order_by(AuditEntry.id.desc()))
    assert (entry.at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") in page  # Beijing time, not UTC
    only_sent = client.get("/admin/audit?action=login.code_sent").get_data(as_text=True)
    assert 'title="login.code_sent"' in only_sent and 'title="login"' not in only_sent


def test_every_audited_action_has_a_chinese_name():
    import re
    from pathlib import Path
    from portal.audit import action_names
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("portal").rglob("*.py"))
    written = set(re.findall(r'audit\.record\(\s*"([a-z_.]+)"', source))
    written |= {"user.enable", "user.disable", "authority.create", "authority.update", "authority.key_create",
                "authority.key_replace"}  # written through a conditional expression
    assert written and written <= set(action_names()), written - set(action_names())


def test_new_user_defaults_to_no_role_and_requires_one(login_as):
    client = login_as("admin")
    form = client.get("/admin/users/new").get_data(as_text=True)
    selected = re.search(r'<select[^>]*name="role".*?</select>', form, re.S).group(0)
    first = re.search(r"<option[^>]*>", selected).group(0)
    assert 'value=""' in first and "selected" not in selected.replace(first, "")  # the browser shows 请选择角色
    page = client.post("/admin/users/new", data={"username": "norole", "phone": "13900000019",
                                                 "password": "long-enough-1"}).get_data(as_text=True)
    assert "请选择用户角色" in page and _user("norole") is None


def test_users_create_cli_reads_password_from_stdin(demo, runner):
    result = runner.invoke(args=["users", "create", "operator1", "--role", "clerk", "--authority",
                                 "11140100MB0000002K", "--phone", "13900000001", "--can-sign"],
                           input="cli-password-1\n")
    assert result.exit_code == 0, result.output
    assert _user("operator1").check_password("cli-password-1") and _user("operator1").can_sign


def test_seed_demo_is_idempotent(demo, runner):
    before = db.session.scalar(db.select(db.func.count(User.id)))
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "已存在" in result.output and "Demo-admin-2026" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_admin_sees_key_state_and_creates_a_key_for_a_new_authority(login_as):
    from portal.certificates import keys
    client = login_as("admin")
    client.post("/admin/authorities/new", data={"name": "阳泉市住房和城乡建设局", "uscc": "11140300MB00000044",
                                               "division_code": "140300"})
    yangquan = db.session.scalar(db.select(Authority).filter_by(division_code="140300"))
    assert yangquan is not None, "the test USCC must be valid"
    page = client.get("/admin/authorities").get_data(as_text=True)
    assert "未配置" in page and "已配置" in page
    assert client.post(f"/admin/authorities/{yangquan.id}/key").status_code == 303
    assert keys.has_key(yangquan.uscc)
    again = client.post(f"/admin/authorities/{yangquan.id}/key", follow_redirects=True).get_data(as_text=True)
    assert "已有电子签章密钥" in again
    assert db.session.scalar(db.select(AuditEntry).filter_by(action="authority.key_create", target=yangquan.uscc))


def test_making_the_missing_sm2_seal_shows_on_the_page_and_seals_the_missing_ofds(login_as):
    import shutil
    from portal.certificates import keys, seal_keys
    from portal.certificates.issuing import IssueOptions, issue_certificate
    from tests.factories import issuable_certificate, issuable_persons
    taiyuan = db.session.scalar(db.select(Authority).filter_by(uscc="11140100MB0000002K"))
    pdf_cert = (keys.dev_pki().authority_dir(taiyuan.uscc) / "cert.pem").read_bytes()
    shutil.rmtree(seal_keys.sm2_pki().authority_dir(taiyuan.uscc))
    cert = issue_certificate(_user("clerk"), issuable_certificate(1), issuable_persons(),
                             options=IssueOptions(seal_now=True))
    assert (cert.pdf_state, cert.ofd_state) == ("signed", "failed")
    client = login_as("admin")
    page = client.get("/admin/authorities").get_data(as_text=True)
    row = page[page.index(taiyuan.uscc):].split("</tr>")[0]
    assert "OFD 电子印章（SM2）<span class=\"tag off\">未配置" in row and "生成密钥" in row
    done = client.post(f"/admin/authorities/{taiyuan.id}/key", follow_redirects=True).get_data(as_text=True)
    assert "1 份证书的 OFD 电子证照正在后台补签" in done
    assert seal_keys.has_seal_key(taiyuan.uscc)
    assert (keys.dev_pki().authority_dir(taiyuan.uscc) / "cert.pem").read_bytes() == pdf_cert  # PDF key kept
    db.session.refresh(cert)
    assert (cert.ofd_state, cert.ofd_error) == ("signed", None)
