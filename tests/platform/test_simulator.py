"""The simulator's HTTP API as a foreign client sees it (plain requests, no PlatformClient)."""
import uuid

import pytest
import requests

from platform_sim import create_sim_app, serve_in_thread
from portal.platform.payload import build_accept_record
from tests.platform.helpers import certificate, id_number, license_id, uscc, wrong_check

MONKEY = id_number("14010519900101001")


@pytest.fixture
def token(platform_sim):
    answer = requests.post(platform_sim.url + "/api/auth/token",
                           json={"appId": "sx-dev", "appSecret": "sx-dev-secret"}, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] > 0
    return body["access_token"]


def api(sim, token, path, body=None, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    if body is None:
        return requests.get(sim.url + path, headers=headers, timeout=5)
    return requests.post(sim.url + path, json=body, headers=headers, timeout=5)


@pytest.mark.parametrize("body", [{"appId": "sx-dev", "appSecret": "nope"},
                                  {"appId": "other", "appSecret": "sx-dev-secret"}])
def test_wrong_credentials_get_401_with_a_json_error(platform_sim, body):
    answer = requests.post(platform_sim.url + "/api/auth/token", json=body, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_api_without_a_valid_token_is_401(platform_sim, demo_persons):
    answer = api(platform_sim, "forged", "/api/personnel/query", {"name": "王建国", "idNumber": "1"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


def test_query_answers_found_with_a_masked_id(platform_sim, token, demo_persons):
    p = demo_persons["1109"]
    body = {"name": p["name"], "idNumber": p["id_number"], "certNum": p["cert_no"], "typeCode": "1109"}
    answer = api(platform_sim, token, "/api/personnel/query", body).json()
    assert answer["found"] is True
    assert answer["person"]["idNumber"] == p["id_number"][:6] + "********" + p["id_number"][-4:]
    assert answer["person"]["typeName"] == "建筑起重机械司机"
    body["idNumber"] = "110101199003074514"
    assert api(platform_sim, token, "/api/personnel/query", body).json() == {"found": False}


def test_query_without_name_or_id_is_a_bad_request(platform_sim, token):
    assert api(platform_sim, token, "/api/personnel/query", {"name": "王建国"}).status_code == 400


def test_accept_sorts_records_and_replays_by_idempotency_key(platform_sim, token, demo_persons):
    good = build_accept_record(certificate([demo_persons["1108"], demo_persons["1109"]]), "issue")
    no_people = build_accept_record(certificate([]), "issue")
    broken = dict(good, eCertID="not-a-guid", certState="04")
    body = {"AcceptData": [good, no_people, broken, good]}
    first = api(platform_sim, token, "/api/cert/accept", body, key="k-1")
    assert first.status_code == 200
    answer = first.json()
    assert answer["SuccessData"] == [{"eCertID": good["eCertID"], "certNum": good["certNum"]}]
    assert answer["WarnData"][0]["eCertID"] == no_people["eCertID"]
    assert "未包含相关人员信息" in answer["WarnData"][0]["reason"]
    errors = {e["eCertID"]: e["reason"] for e in answer["ErrorData"]}
    assert "32 位十六进制" in errors["not-a-guid"] and "不匹配" in errors["not-a-guid"]
    assert "重复" in errors[good["eCertID"]]
    again = api(platform_sim, token, "/api/cert/accept", body, key="k-1")
    assert again.json() == answer and again.headers["Idempotent-Replayed"] == "true"
    listing = platform_sim.reports()
    assert len(listing["reports"]) == 1 and listing["reports"][0]["replays"] == 1
    conflict = api(platform_sim, token, "/api/cert/accept", {"AcceptData": [good]}, key="k-1")
    assert conflict.status_code == 422


def test_accept_needs_a_key_and_a_non_empty_list(platform_sim, token, demo_persons):
    good = build_accept_record(certificate([demo_persons["1108"]]), "issue")
    assert api(platform_sim, token, "/api/cert/accept", {"AcceptData": [good]}).status_code == 400
    assert api(platform_sim, token, "/api/cert/accept", {"AcceptData": []}, key="k").status_code == 400
    assert api(platform_sim, token, "/api/cert/accept", [good], key="k").status_code == 400
    assert platform_sim.reports()["reports"] == []


def test_cancel_needs_a_prior_issue_to_be_collected(platform_sim, token, demo_persons):
    platform_sim.set_switches(verdict_delay=0)
    cert = certificate([demo_persons["1108"], demo_persons["1109"]])
    cancel = build_accept_record(dict(cert, cancelled_at="2026-05-01", cancel_reason="设备拆除"), "cancel")
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [cancel]}, key="c-1")
    state = api(platform_sim, token, f"/api/cert/status/{cancel['eCertID']}").json()
    assert state["state"] == "rejected" and "未曾上报新发记录" in state["reasons"][0]
    issue = build_accept_record(cert, "issue")
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [issue]}, key="i-1")
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [cancel]}, key="c-2")
    state = api(platform_sim, token, f"/api/cert/status/{cancel['eCertID']}").json()
    assert state["state"] == "collected" and state["operateType"] == "05"


def test_forced_and_admin_verdicts(platform_sim, token, demo_persons):
    platform_sim.set_switches(verdict_delay=0, verdict="rejected", reject_reasons=["备案编号不存在"])
    record = build_accept_record(certificate([demo_persons["1108"]]), "issue")
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [record]}, key="f-1")
    state = api(platform_sim, token, f"/api/cert/status/{record['eCertID']}").json()
    assert state == dict(state, state="rejected", reasons=["备案编号不存在"])
    platform_sim.set_verdict(record["eCertID"], "collected")
    assert api(platform_sim, token, f"/api/cert/status/{record['eCertID']}").json()["state"] == "collected"


def test_semantic_checks_reject_bad_codes(platform_sim, token, demo_persons):
    platform_sim.set_switches(verdict_delay=0)
    cert = certificate([demo_persons["1108"]], authority_uscc="111401000000000000",
                       number="140105S（2025）0000001")
    record = build_accept_record(cert, "issue")
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [record]}, key="s-1")
    reasons = " ".join(api(platform_sim, token, f"/api/cert/status/{record['eCertID']}").json()["reasons"])
    assert "发证机关代码" in reasons and "设备类别" in reasons and "年份" in reasons


@pytest.mark.parametrize("change, reason", [
    (lambda lid: lid[:-1] + ("0" if lid[-1] != "0" else "1"), "电子证照标识（zzeCertID）的校验位不正确"),
    (lambda lid: license_id(uscc("11140100MB0999999"), "140105T（2026）0000001"), "中的发证机构代码与发证机关代码"),
])
def test_an_identifier_with_a_wrong_check_character_or_authority_is_rejected(platform_sim, token, demo_persons,
                                                                            change, reason):
    platform_sim.set_switches(verdict_delay=0)
    record = build_accept_record(certificate([demo_persons["1108"]]), "issue")
    record["zzeCertID"] = change(record["zzeCertID"])
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [record]}, key="l-1")
    state = api(platform_sim, token, f"/api/cert/status/{record['eCertID']}").json()
    assert state["state"] == "rejected" and any(reason in r for r in state["reasons"]), state


def test_switch_times_runs_out(platform_sim, token):
    platform_sim.set_mode("error500", times=2)
    codes = [api(platform_sim, token, "/api/cert/status/" + "0" * 32).status_code for _ in range(3)]
    assert codes == [500, 500, 404]
    assert platform_sim.switches()["mode"] == "normal"


def test_unknown_switches_are_refused(platform_sim):
    with pytest.raises(RuntimeError):
        platform_sim.set_mode("flaky")
    with pytest.raises(RuntimeError):
        platform_sim.set_switches(colour="red")


def test_admin_endpoints_are_loopback_only(tmp_path):
    app = create_sim_app(tmp_path)
    client = app.test_client()
    assert client.get("/_sim/reports", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/_sim/reports").status_code == 200


def test_added_person_is_found_and_invalid_ids_are_refused(platform_sim, token):
    row = platform_sim.add_person("孙悟空", MONKEY, "晋A052024000001", "1109")
    assert row["operation"] == "建筑起重机械司机"
    body = {"name": "孙悟空", "idNumber": row["id_number"], "certNum": "晋A052024000001", "typeCode": "1109"}
    assert api(platform_sim, token, "/api/personnel/query", body).json()["found"] is True
    with pytest.raises(RuntimeError, match="身份证号码无效"):
        platform_sim.add_person("猪八戒", wrong_check(MONKEY), "晋A052024000002", "1109")
    with pytest.raises(RuntimeError, match="409"):
        platform_sim.add_person("孙悟空", row["id_number"], "晋A052024000001", "1109")


def test_state_survives_a_restart_and_reset_restores_the_seed(tmp_path, demo_persons):
    data_dir = tmp_path / "sim"
    with serve_in_thread(data_dir) as sim:
        seeded = len(sim.persons())
        sim.add_person("孙悟空", MONKEY, "晋A052024000001", "1109")
        sim.set_switches(verdict_delay=7)
        record = build_accept_record(certificate([demo_persons["1108"]]), "issue")
        with sim.app.test_client() as c:
            tok = c.post("/api/auth/token", json={"appId": "sx-dev", "appSecret": "sx-dev-secret"}).json
            c.post("/api/cert/accept", json={"AcceptData": [record]},
                   headers={"Authorization": "Bearer " + tok["access_token"], "Idempotency-Key": "r-1"})
    with serve_in_thread(data_dir) as sim:
        assert len(sim.persons()) == seeded + 1  # not seeded twice
        assert sim.reports()["counts"] == {record["eCertID"]: 1}
        assert sim.switches()["verdict_delay"] == 7
        sim.reset()
        assert len(sim.persons()) == seeded and sim.reports()["reports"] == []
        assert sim.switches()["verdict_delay"] == 3


def test_custom_registry_csv_and_credentials(tmp_path):
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("type_code,name,id_number,cert_no\n1109,周 星,140105199001010015,晋A052024000009\n",
                        encoding="utf-8")
    with serve_in_thread(tmp_path / "sim", registry_csv=csv_path, app_id="a", app_secret="b") as sim:
        assert [p["name"] for p in sim.persons()] == ["周 星"]
        answer = requests.post(sim.url + "/api/auth/token", json={"appId": "a", "appSecret": "b"}, timeout=5)
        assert answer.status_code == 200


def test_unknown_path_is_a_json_404(platform_sim):
    answer = requests.get(platform_sim.url + "/api/nothing", timeout=5)
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def test_guid_ids_are_case_insensitive_for_status(platform_sim, token, demo_persons):
    platform_sim.set_switches(verdict_delay=0)
    cert = certificate([demo_persons["1108"]], ecert_id=uuid.uuid4().hex.upper())
    record = build_accept_record(cert, "issue")
    api(platform_sim, token, "/api/cert/accept", {"AcceptData": [record]}, key="g-1")
    assert api(platform_sim, token, f"/api/cert/status/{record['eCertID'].lower()}").status_code == 200


def test_embedded_simulator_is_one_per_data_dir(tmp_path):
    import platform_sim

    try:
        first = platform_sim.embedded(tmp_path / "emb")
        assert platform_sim.embedded(tmp_path / "emb") is first
        assert requests.get(first.url + "/_sim/stats", timeout=5).status_code == 200
    finally:
        platform_sim.shutdown_embedded()
    with pytest.raises(requests.ConnectionError):
        requests.get(first.url + "/_sim/stats", timeout=1)
