"""The seeded registry is realistic: valid ID numbers, plausible birth dates, proper certificate numbers."""
import datetime
import re

from tests.platform.helpers import id_number
from tests.platform_fixtures import seeded_persons

CERT_NO = re.compile(r"^晋[A-HJ-M](\d{2})(\d{4})\d{6}$")
CATEGORY = {"1108": {"04"}, "1109": {"05", "06", "07"}, "1113": {"08", "09", "10"}}


def test_seed_ids_have_a_valid_check_digit_and_birth_date():
    rows = seeded_persons()
    assert 30 <= len(rows) <= 60
    assert len({r["id_number"] for r in rows}) == len(rows)
    for row in rows:
        idn = row["id_number"]
        assert re.fullmatch(r"14\d{15}[\dX]", idn), idn
        assert id_number(idn[:17]) == idn, idn
        born = datetime.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
        assert datetime.date(1960, 1, 1) <= born <= datetime.date(2004, 12, 31), idn


def test_seed_certificates_match_the_operation_type():
    rows = seeded_persons()
    assert {r["type_code"] for r in rows} == {"1108", "1109", "1113"}
    assert len({r["cert_no"] for r in rows}) == len(rows)
    for row in rows:
        match = CERT_NO.match(row["cert_no"])
        assert match, row["cert_no"]
        assert match.group(1) in CATEGORY[row["type_code"]]
        assert match.group(2) == row["issued_on"][:4]
        assert row["valid_until"] > row["issued_on"]


def test_demo_persons_documented_for_the_lead(demo_persons):
    assert {t: (p["name"], p["id_number"], p["cert_no"]) for t, p in demo_persons.items()} == {
        "1108": ("王建国", "140105198503126233", "晋A042023000277"),
        "1109": ("李志强", "140105198207213439", "晋A052022000837"),
        "1113": ("张海军", "140106197911054170", "晋A092023000838"),
    }
