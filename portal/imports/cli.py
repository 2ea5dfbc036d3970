"""flask --app wsgi certs template | check | import (added to the certs group)."""
from portal.certificates.cli import certs_cli  # noqa: F401
