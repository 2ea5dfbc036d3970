"""Builders of plausible certificates for the platform tests."""
import datetime
import uuid

from portal.standard.license_id import LICENSE_ID_PREFIX, mod37_36_check_char, serial_for_certificate_number

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(first17):
    """Complete 17 characters with their GB 32100 check character."""
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


AUTHORITY_USCC = uscc("11140100MB0123456")
HOLDER_USCC = uscc("91140105MA0K12345")
OWNER_USCC = uscc("91140100MA0K23456")
INSTALLER_USCC = uscc("91140100MA0K34567")
SUPERVISION_USCC = uscc("91140100MA0K45678")


def certificate(persons, **overrides):
    """A plain certificate dict as the portal hands it to build_accept_record."""
    cert = {
        "ecert_id": uuid.uuid4().hex,
        "number": "140105T（2026）0000001",
        "authority_name": "太原市住房和城乡建设局",
        "authority_uscc": AUTHORITY_USCC,
        "issue_date": datetime.date(2026, 3, 2),
        "valid_until": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "holder_name": "山西三建集团有限公司",
        "holder_uscc": HOLDER_USCC,
        "crane_type": "T",
        "model": "QTZ80(TC6010-6)",
        "record_number": "晋AA-T00001",
        "manufacturer": "中联重科股份有限公司",
        "serial_number": "ZL2021-0456",
        "manufacture_date": None,
        "owner_name": "太原恒泰机械租赁有限公司",
        "owner_uscc": OWNER_USCC,
        "installer_name": "山西晋建起重设备安装有限公司",
        "installer_uscc": INSTALLER_USCC,
        "supervision_name": "山西协诚建设工程项目管理有限公司",
        "supervision_uscc": SUPERVISION_USCC,
        "contractor_name": "",
        "contractor_uscc": "",
        "project_name": "小店区综合改造项目一期",
        "project_address": "太原市小店区长治路 88 号",
        "project_division": "140105",
        "location": "112.5489,37.8123",
        "permit_number": "140105202601050101",
        "business": {"tower_jib_length": "60", "tower_max_load": "6", "tower_max_height": "120",
                     "tower_tip_load": "1.0"},
        "persons": [
            {key: p[key] for key in ("type_code", "name", "id_number", "cert_no")} for p in persons
        ],
    }
    cert.update(overrides)
    if "license_id" not in cert:  # None for a number that is no 证书编号 (tests of incomplete certificates)
        cert["license_id"] = license_id(cert["authority_uscc"], cert["number"]) if cert["number"] else None
    return cert


def license_id(authority_uscc, number, type_code="JZQZJXSYDJZ"):
    """The 电子证照标识 the portal gives this number (built by hand: the tests' USCCs need not be valid)."""
    body = f"{LICENSE_ID_PREFIX}.{type_code}.{authority_uscc}.{serial_for_certificate_number(number)}.001"
    return f"{body}.{mod37_36_check_char(body.replace('.', ''))}"


def id_number(first17):
    """Complete 17 digits with their ISO 7064 MOD 11-2 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


def wrong_check(valid):
    """The same ID with a wrong check character."""
    return valid[:17] + ("0" if valid[17] != "0" else "1")
