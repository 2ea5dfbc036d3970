"""Normalisation of the values a lookup matches on.

Kept identical to ``portal.platform.client`` (a test checks that both agree) but not imported from
it: the simulator stands in for a foreign system and must not depend on the portal.
"""
import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Every way a clerk types the separator of a transcribed minority name becomes U+00B7.
_DOTS = str.maketrans({c: "\u00b7" for c in ".\u2022\u30fb\u2027\u2219\u22c5\uff65"})

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def normalise_name(name):
    """NFKC, no whitespace of any width, one kind of middle dot."""
    text = unicodedata.normalize("NFKC", name or "").translate(_INVISIBLE)
    return "".join(text.split()).translate(_DOTS)


def normalise_code(value):
    """ID and certificate numbers: NFKC, no whitespace, upper case (a typed 'x' check digit)."""
    text = unicodedata.normalize("NFKC", value or "").translate(_INVISIBLE)
    return "".join(text.split()).upper()


def id_number_is_valid(id_number):
    """GB 11643 citizen ID: 17 digits + ISO 7064 MOD 11-2 check character, plausible birth date."""
    import datetime

    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(id_number[:17], ID_WEIGHTS))
    if ID_CHECK[total % 11] != id_number[17]:
        return False
    try:
        born = datetime.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def mask_id_number(id_number):
    """What the platform's public answers show: region code and check digit only."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def uscc_is_valid(code):
    """GB 32100-2015 unified social credit code check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    if len(code) != 18 or any(c not in alphabet for c in code):
        return False
    total = sum(alphabet.index(c) * w for c, w in zip(code[:17], weights))
    return alphabet[(31 - total % 31) % 31] == code[17]


def license_id_is_valid(license_id):
    """GB/T 36904 电子证照标识 check character: ISO/IEC 7064 MOD 37,36 over its characters without the dots."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = license_id.replace(".", "")
    if len(text) < 2 or any(c not in alphabet for c in text):
        return False
    running = 36
    for c in text[:-1]:
        running = ((running + alphabet.index(c)) % 36 or 36) * 2 % 37
    return alphabet[(37 - running) % 36] == text[-1]
