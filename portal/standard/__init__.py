"""建筑起重机械使用登记证书(标准化) — the standard as code (pure: no Flask, no DB, no network).

Modules: ``codes`` (code tables), ``values`` (证书编号/备案编号/USCC/身份证号码), ``normalize`` (raw cells →
canonical values), ``fields`` (FIELDS/PERSON_FIELDS), ``rules`` (R1–R13, check_certificate), ``workbook``
(template zip, import zip, failure report; imports openpyxl/calamine lazily where possible).
"""
from .fields import FIELDS, PERSON_FIELDS, FieldDef
from .rules import (CheckContext, PersonStatus, RuleError, check_cancellation, check_certificate, clean_certificate,
                    clean_person, rule_r13_no_change)

__all__ = ["FIELDS", "PERSON_FIELDS", "FieldDef", "CheckContext", "PersonStatus", "RuleError", "check_cancellation",
           "check_certificate", "clean_certificate", "clean_person", "rule_r13_no_change"]
