"""PlatformClient against the simulator over real HTTP on loopback."""
import threading
import time

import pytest

from platform_sim import normalize as sim_normalize
from portal.platform import client as client_module
from portal.platform.client import (
    CachedPersonLookup, PersonStatus, PlatformAuthError, PlatformClient, PlatformUnavailable,
)
from portal.platform.payload import build_accept_record
from tests.platform.helpers import certificate
from tests.platform_fixtures import SIM_APP_ID, TEST_TIMEOUT

CONNECT = "全国工程质量安全监管信息平台无法连接"
TIMEOUT = "全国工程质量安全监管信息平台响应超时"
UNRECOGNISED = "全国工程质量安全监管信息平台返回了无法识别的数据"


def ask(client, person, **changes):
    values = dict(name=person["name"], id_number=person["id_number"],
                  certificate_no=person["cert_no"], type_code=person["type_code"])
    values.update(changes)
    return client.find_person(**values)


def status(client, person, **changes):
    values = dict(name=person["name"], id_number=person["id_number"],
                  certificate_no=person["cert_no"], type_code=person["type_code"])
    values.update(changes)
    return client.lookup_status(**values)


# --- found / not found ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_code", ["1108", "1109", "1113"])
def test_registered_person_is_found(platform_client, demo_persons, type_code):
    person = demo_persons[type_code]
    lookup = ask(platform_client, person)
    assert lookup.status is PersonStatus.FOUND and lookup.found
    assert lookup.person["name"] == person["name"]
    assert lookup.person["certNum"] == person["cert_no"]
    result = status(platform_client, person)
    assert result.status == "found"
    assert person["name"] in result.message


def test_unknown_person_is_not_found_and_the_message_names_them(platform_client, demo_persons):
    person = dict(demo_persons["1109"], name="钱多多")
    assert ask(platform_client, person).status is PersonStatus.NOT_FOUND
    result = status(platform_client, person)
    assert result.status == "not_found"
    assert "钱多多" in result.message and "未在全国工程质量安全监管信息平台查询到" in result.message


def test_a_different_person_is_never_found(platform_client, demo_persons):
    """Same name, other ID (a namesake); same ID, other name; right person, wrong certificate or type."""
    p = demo_persons["1108"]
    namesake_id = "140802199005084599"  # the seeded 1109 王建国 of 运城 is not the 1108 王建国
    assert ask(platform_client, p, id_number=namesake_id).status is PersonStatus.NOT_FOUND
    assert ask(platform_client, p, name="王建军").status is PersonStatus.NOT_FOUND
    assert ask(platform_client, p, certificate_no="晋A042023000278").status is PersonStatus.NOT_FOUND
    assert ask(platform_client, p, type_code="1109").status is PersonStatus.NOT_FOUND


@pytest.mark.parametrize("typed", [
    "王 建国", " 王建国 ", "王\u3000建国", "王\u00a0建\t国", "王\u200b建国",
])
def test_names_with_inner_spaces_are_matched(platform_client, demo_persons, typed):
    assert ask(platform_client, demo_persons["1108"], name=typed).found


def test_full_width_and_lower_case_codes_and_dots_are_matched(platform_client, demo_persons, platform_sim):
    p = demo_persons["1108"]
    full_width_id = p["id_number"].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert ask(platform_client, p, id_number=full_width_id).found
    assert ask(platform_client, p, certificate_no=" " + p["cert_no"].lower() + " ").found
    x_person = next(r for r in platform_sim.persons() if r["id_number"].endswith("X"))
    assert platform_client.find_person(x_person["name"], x_person["id_number"].lower(),
                                       x_person["cert_no"], x_person["type_code"]).found
    dotted = next(r for r in platform_sim.persons() if "·" in r["name"])
    for dot in (".", "．", "•", "・"):
        assert platform_client.find_person(dotted["name"].replace("·", dot), dotted["id_number"],
                                           dotted["cert_no"], dotted["type_code"]).found


def test_client_and_simulator_normalise_alike():
    samples = ["王 建国", "王\u3000建国", "ＡＢＣ１２３", "阿依古丽．买买提", "x\u200by", " 14010519850312623x ",
               "晋ａ０４", "Ｌｉ　Ｍｉｎｇ", "阿依古丽･买买提"]
    for s in samples:
        assert client_module.normalise_name(s) == sim_normalize.normalise_name(s)
        assert client_module.normalise_code(s) == sim_normalize.normalise_code(s)


def test_blank_name_or_id_is_not_found_without_asking(platform_client, platform_sim, demo_persons):
    assert ask(platform_client, demo_persons["1108"], name=" \u3000").status is PersonStatus.NOT_FOUND
    assert platform_sim.stats()["query"] == 0


# --- the platform fails: never 'found', never 'not found' ----------------------------------------

def assert_unavailable(client, person, kind, text):
    with pytest.raises(PlatformUnavailable) as info:
        ask(client, person)
    assert info.value.kind == kind, info.value.message
    assert text in info.value.message
    result = status(client, person)
    assert result.status == "unavailable"
    assert text in result.message and person["name"] in result.message
    return info.value


def test_platform_down_is_unavailable_not_not_found(closed_port_url, demo_persons):
    client = PlatformClient(closed_port_url, "sx-dev", "sx-dev-secret", timeout=TEST_TIMEOUT)
    assert_unavailable(client, demo_persons["1109"], "connect", CONNECT)


def test_slow_platform_times_out(platform_sim, platform_client, demo_persons):
    platform_sim.set_mode("slow", delay_seconds=1.5, endpoints=["query"])
    assert_unavailable(platform_client, demo_persons["1109"], "timeout", TIMEOUT)


def test_server_error_is_unavailable(platform_sim, platform_client, demo_persons):
    platform_sim.set_mode("error500")
    error = assert_unavailable(platform_client, demo_persons["1109"], "server_error", "HTTP 500")
    assert error.status_code == 500


def test_malformed_json_is_unavailable_even_if_it_starts_with_found_true(platform_sim, platform_client,
                                                                         demo_persons):
    platform_sim.set_mode("malformed", endpoints=["query"])
    assert_unavailable(platform_client, demo_persons["1113"], "bad_response", UNRECOGNISED)


def test_malformed_token_answer_is_unavailable(platform_sim, platform_client, demo_persons):
    platform_sim.set_mode("malformed", endpoints=["token"])
    assert_unavailable(platform_client, demo_persons["1113"], "bad_response", UNRECOGNISED)


def test_huge_body_is_refused_while_streaming(platform_sim, platform_client, demo_persons):
    platform_sim.set_mode("huge", huge_bytes=5_000_000, endpoints=["query"])
    error = assert_unavailable(platform_client, demo_persons["1108"], "too_large", UNRECOGNISED)
    assert "200000" in error.message


def test_dropped_connection_is_unavailable(platform_sim, platform_client, demo_persons):
    platform_sim.set_mode("refuse", endpoints=["query"])
    assert_unavailable(platform_client, demo_persons["1108"], "disconnected", CONNECT)


def test_found_for_someone_else_is_not_trusted(platform_client, demo_persons, monkeypatch):
    other = {"found": True, "person": {"name": "李志强", "certNum": demo_persons["1108"]["cert_no"]}}
    monkeypatch.setattr(platform_client, "_call", lambda *a, **k: other)
    with pytest.raises(PlatformUnavailable) as info:
        ask(platform_client, demo_persons["1108"])
    assert info.value.kind == "bad_response"


@pytest.mark.parametrize("answer", [{"found": "true"}, {"found": True}, {"found": 1, "person": {}}, {}])
def test_answers_of_the_wrong_shape_are_not_trusted(platform_client, demo_persons, monkeypatch, answer):
    monkeypatch.setattr(platform_client, "_call", lambda *a, **k: answer)
    assert status(platform_client, demo_persons["1108"]).status == "unavailable"


# --- credentials and tokens ----------------------------------------------------------------------

def test_wrong_credentials_raise_auth_error(platform_sim, demo_persons):
    client = PlatformClient(platform_sim.url, SIM_APP_ID, "wrong", timeout=TEST_TIMEOUT)
    with pytest.raises(PlatformAuthError) as info:
        ask(client, demo_persons["1108"])
    assert info.value.message == "平台认证失败，请检查接口账号配置"
    result = status(client, demo_persons["1108"])
    assert result.status == "unavailable" and "平台认证失败" in result.message
    assert platform_sim.stats()["query"] == 0


def test_token_is_cached_and_refreshed_once_on_401(platform_sim, platform_client, demo_persons):
    for _ in range(3):
        assert ask(platform_client, demo_persons["1108"]).found
    assert platform_sim.stats()["token"] == 1
    platform_sim.revoke_tokens()
    assert ask(platform_client, demo_persons["1108"]).found
    assert platform_sim.stats()["token"] == 2


def test_expired_token_is_renewed_before_use(platform_sim, platform_client, demo_persons):
    platform_sim.set_switches(token_ttl=1)
    assert ask(platform_client, demo_persons["1108"]).found
    # ttl 1 s minus the safety margin: the cached token is already considered stale
    platform_client._token_expires = 0
    assert ask(platform_client, demo_persons["1108"]).found
    assert platform_sim.stats() == {"token": 2, "query": 2, "accept": 0, "status": 0}


# --- reporting ------------------------------------------------------------------------------------

@pytest.fixture
def record(demo_persons):
    return build_accept_record(certificate([demo_persons["1108"], demo_persons["1109"]]), "issue")


def test_report_is_accepted_and_collected(platform_sim, platform_client, record):
    platform_sim.set_switches(verdict_delay=0)
    result = platform_client.report_certificate([record], "issue-1")
    assert result.accepted == [record["eCertID"]] and not result.errors and not result.replayed
    assert result.outcome(record["eCertID"]) == ("accepted", "")
    verdict = platform_client.certificate_status(record["eCertID"])
    assert verdict.state == "collected" and verdict.is_final and verdict.reasons == ()


def test_verdict_comes_after_the_delay(platform_sim, platform_client, record):
    platform_sim.set_switches(verdict_delay=30)
    platform_client.report_certificate([record], "issue-1")
    assert platform_client.certificate_status(record["eCertID"]).state == "accepted"
    platform_sim.set_switches(verdict_delay=0)
    assert platform_client.certificate_status(record["eCertID"]).state == "collected"


def test_verdict_rejected_names_the_reasons(platform_sim, platform_client, demo_persons):
    platform_sim.set_switches(verdict_delay=0)
    stranger = dict(demo_persons["1109"], name="钱多多")
    record = build_accept_record(certificate([demo_persons["1108"], stranger]), "issue")
    platform_client.report_certificate([record], "issue-2")
    verdict = platform_client.certificate_status(record["eCertID"])
    assert verdict.state == "rejected"
    assert any("钱多多" in r for r in verdict.reasons)


def test_unknown_certificate_status_is_unknown(platform_client):
    assert platform_client.certificate_status("0" * 32).state == "unknown"


def test_structurally_invalid_record_is_in_errors(platform_sim, platform_client, record):
    broken = dict(record, eCertID="1" * 32, issuDate="2026/03/02")
    result = platform_client.report_certificate([record, broken], "mixed-1")
    assert result.accepted == [record["eCertID"]]
    assert [e for e, _ in result.errors] == ["1" * 32]
    assert "issuDate" in result.errors[0][1]
    assert result.outcome("1" * 32)[0] == "error"


def test_report_survives_a_lost_answer_and_is_stored_once(platform_sim, platform_client, record):
    platform_sim.set_mode("lose_answer", times=1, endpoints=["accept"])
    with pytest.raises(PlatformUnavailable) as info:
        platform_client.report_certificate([record], "issue-lost")
    assert info.value.kind == "disconnected"
    assert platform_sim.reports()["counts"] == {record["eCertID"]: 1}  # it did arrive
    result = platform_client.report_certificate([record], "issue-lost")
    assert result.replayed and result.accepted == [record["eCertID"]]
    listing = platform_sim.reports()
    assert listing["counts"] == {record["eCertID"]: 1}
    assert len(listing["reports"]) == 1 and listing["reports"][0]["replays"] == 1


def test_report_survives_a_gateway_timeout(platform_sim, platform_client, record):
    platform_sim.set_mode("lose_answer", times=1, endpoints=["accept"], lose_how="504")
    with pytest.raises(PlatformUnavailable) as info:
        platform_client.report_certificate([record], "issue-504")
    assert info.value.kind == "server_error" and info.value.status_code == 504
    assert platform_client.report_certificate([record], "issue-504").replayed
    assert platform_sim.reports()["counts"] == {record["eCertID"]: 1}


def test_report_survives_server_errors_and_is_stored_once(platform_sim, platform_client, record):
    platform_sim.set_mode("error500", times=2, endpoints=["accept"])
    for _ in range(2):
        with pytest.raises(PlatformUnavailable):
            platform_client.report_certificate([record], "issue-500")
    assert platform_sim.reports()["counts"] == {}
    first = platform_client.report_certificate([record], "issue-500")
    again = platform_client.report_certificate([record], "issue-500")
    assert not first.replayed and again.replayed and again.accepted == first.accepted
    assert platform_sim.reports()["counts"] == {record["eCertID"]: 1}


def test_report_after_a_timeout_is_stored_once(platform_sim, platform_client, record):
    platform_sim.set_mode("slow", delay_seconds=1.2, times=1, endpoints=["accept"])
    with pytest.raises(PlatformUnavailable) as info:
        platform_client.report_certificate([record], "issue-slow")
    assert info.value.kind == "timeout"
    platform_client.report_certificate([record], "issue-slow")
    # the slow first request completes after the retry and finds the key already used
    time.sleep(0.8)
    assert platform_sim.reports()["counts"] == {record["eCertID"]: 1}


def test_a_new_key_for_the_same_certificate_is_a_new_report(platform_sim, platform_client, record):
    platform_client.report_certificate([record], "issue-a")
    result = platform_client.report_certificate([record], "issue-b")
    assert result.accepted == [record["eCertID"]] and "重复上报" in result.warnings[0][1]
    assert platform_sim.reports()["counts"] == {record["eCertID"]: 2}


def test_report_arguments_are_checked(platform_client, record):
    with pytest.raises(ValueError):
        platform_client.report_certificate([], "k")
    with pytest.raises(ValueError):
        platform_client.report_certificate([record], " ")


# --- cached lookups -------------------------------------------------------------------------------

def test_cached_lookup_asks_once_per_distinct_person(platform_sim, platform_client, demo_persons):
    cached = CachedPersonLookup(platform_client, ttl_seconds=300)
    people = list(demo_persons.values()) + [dict(demo_persons["1109"], name="钱多多")]
    statuses = []
    for row in range(300):  # an import: each row names the same few workers, spelled variously
        for person in people:
            name = person["name"] if row % 2 else " ".join(person["name"])
            statuses.append(cached.lookup_status(name, person["id_number"], person["cert_no"],
                                                 person["type_code"]).status)
    assert statuses.count("found") == 900 and statuses.count("not_found") == 300
    assert platform_sim.stats()["query"] == len(people) == cached.calls
    assert cached.hits == 1200 - len(people)


def test_cached_lookup_asks_once_under_concurrency(platform_sim, platform_client, demo_persons):
    platform_sim.set_mode("slow", delay_seconds=0.3, endpoints=["query"])
    cached = CachedPersonLookup(platform_client)
    p = demo_persons["1113"]
    results = []
    args = (p["name"], p["id_number"], p["cert_no"], p["type_code"])
    threads = [threading.Thread(target=lambda: results.append(cached.lookup_status(*args).status))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["found"] * 8
    assert platform_sim.stats()["query"] == 1


def test_cached_lookup_remembers_a_failure_briefly_then_asks_again(platform_sim, platform_client, demo_persons):
    now = [1000.0]
    cached = CachedPersonLookup(platform_client, clock=lambda: now[0], failure_ttl=30)
    p = demo_persons["1108"]
    args = (p["name"], p["id_number"], p["cert_no"], p["type_code"])
    platform_sim.set_mode("error500", times=1, endpoints=["query"])
    first = cached.lookup_status(*args)
    assert first.status == "unavailable" and first.message.startswith("暂时无法核验")
    assert cached.lookup_status(*args).status == "unavailable"  # negative cache: no second call
    assert platform_sim.stats()["query"] == 1
    now[0] += 31
    assert cached.lookup_status(*args).status == "found"
    assert platform_sim.stats()["query"] == 2


def test_a_slow_platform_opens_the_breaker_and_rows_fail_fast(platform_sim, platform_client, demo_persons):
    """Every row of a slow platform would wait the read timeout; after three in a row the others fail at
    once with 暂时无法核验, and once the breaker's time has passed one call finds the platform back."""
    now = [1000.0]
    cached = CachedPersonLookup(platform_client, clock=lambda: now[0], breaker_threshold=3, breaker_seconds=30)
    platform_sim.set_mode("slow", delay_seconds=sum(TEST_TIMEOUT) + 0.5, endpoints=["query"])
    people = [(f"工人{i}", p["id_number"], p["cert_no"], p["type_code"])
              for i, p in enumerate(list(demo_persons.values()) * 4)]
    started = time.monotonic()
    answers = [cached.lookup_status(*person) for person in people]
    assert all(a.status == "unavailable" and a.message.startswith("暂时无法核验") for a in answers)
    assert "暂停查询" in answers[-1].message
    assert platform_sim.stats()["query"] == 3  # only the first three waited for the timeout
    assert time.monotonic() - started < 3 * sum(TEST_TIMEOUT) + 2  # not 12 timeouts
    platform_sim.set_mode("normal")
    now[0] += 31  # half open: the next call tries the platform, and closes the breaker
    p = demo_persons["1108"]
    assert cached.lookup_status(p["name"], p["id_number"], p["cert_no"], p["type_code"]).status == "found"
    assert cached.lookup_status(*people[-1]).status in ("found", "not_found")


def test_cache_entries_expire(platform_sim, platform_client, demo_persons):
    now = [1000.0]
    cached = CachedPersonLookup(platform_client, ttl_seconds=300, clock=lambda: now[0])
    p = demo_persons["1108"]
    cached.find_person(p["name"], p["id_number"], p["cert_no"], p["type_code"])
    now[0] += 299
    cached.find_person(p["name"], p["id_number"], p["cert_no"], p["type_code"])
    now[0] += 2
    cached.find_person(p["name"], p["id_number"], p["cert_no"], p["type_code"])
    assert platform_sim.stats()["query"] == 2


def test_client_from_config(platform_config, demo_persons):
    client = PlatformClient.from_config(platform_config)
    assert client.timeout == (0.5, 0.75)
    assert ask(client, demo_persons["1109"]).found
