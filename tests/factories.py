"""Certificates that can really be issued in tests: valid by the rules, with the 1108/1109/1113
persons taken from the simulator's demo registry so R9 finds them on the platform."""
from tests.standard.factories import make_id, make_uscc, valid_certificate, valid_persons  # noqa: F401

PLATFORM_PEOPLE = {
    "1108": {"name": "王建国", "id_number": "140105198503126233", "cert_no": "晋A042023000277"},
    "1109": {"name": "李志强", "id_number": "140105198207213439", "cert_no": "晋A052022000837"},
    "1113": {"name": "张海军", "id_number": "140106197911054170", "cert_no": "晋A092023000838"},
}


def issuable_persons():
    """valid_persons() whose platform-checked people exist in the simulator's registry."""
    people = valid_persons()
    for person in people:
        if person["type_code"] in PLATFORM_PEOPLE:
            person.update(PLATFORM_PEOPLE[person["type_code"]])
    return people


def issuable_certificate(n=1, **overrides):
    """A valid Taiyuan tower-crane certificate with its own 备案编号 晋AA-T0000n."""
    values = valid_certificate(record_number=f"晋AA-T{n:05d}")
    values.update(overrides)
    return values
