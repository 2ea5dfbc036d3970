"""The single-entry wizard's form: fields come from the standard's FIELDS; this module only reads
the posted values into plain dicts (certificate values, persons, draft attachments)."""
import re

from portal.paging import bounded_int
from portal.standard.fields import FIELDS, PERSON_FIELDS

STEP1_KEYS = tuple(f.key for f in FIELDS if f.step == 1)
_PERSON_KEY = re.compile(r"^persons-(\d{1,3})-(\w+)$")
PERSON_KEYS = tuple(f.key for f in PERSON_FIELDS)
MAX_PERSONS = 60
MAX_DRAFTS = 100


def read_values(form, operator_authorities):
    """The certificate's values as posted; 发证机关 name comes from the chosen authority."""
    values = {f.key: (form.get(f.key) or "").strip() for f in FIELDS}
    chosen = next((a for a in operator_authorities if a.uscc == values["authority_uscc"]), None)
    if chosen is not None:
        values["authority_name"] = chosen.name
    return values


def read_persons(form):
    """Personnel rows in page order; rows left completely empty are dropped."""
    rows = {}
    for name in form:
        match = _PERSON_KEY.match(name)
        if match and match.group(2) in PERSON_KEYS and int(match.group(1)) < 1000:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = (form.get(name) or "").strip()
    persons = []
    for index in sorted(rows)[:MAX_PERSONS]:
        person = {key: rows[index].get(key, "") for key in PERSON_KEYS}
        if any(person.values()):
            persons.append(person)
    return persons


def read_draft_ids(form):
    """Ids of the draft attachments carried from an earlier try (whose they are, the service checks)."""
    ids = (bounded_int(value) for value in form.getlist("draft_attachment")[:MAX_DRAFTS])
    return [i for i in ids if i is not None]
