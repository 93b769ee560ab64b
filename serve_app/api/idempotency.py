"""`Idempotency-Key`: the caller's name for one recording detection, so that a retry is
recorded once. X-Request-ID stays the trace id: proxies make one up or replace it, and a client
may trace each attempt of a retry under an id of its own.
"""

import re
import uuid

from serve_app.core.errors import InvalidIdempotencyKeyError

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 128
SAFE_KEY = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_KEY_CHARS}}}")
DESCRIPTION = (
    f"1-{MAX_KEY_CHARS} characters of `A-Z a-z 0-9 . _ : -`. With `?location`: the same key "
    "(per API key, or per anonymous caller) with the same image and location answers "
    '`"recorded": "duplicate"` and records nothing more; with another image or location it is '
    "a 409 `idempotency_conflict`. Without it every detection is a record of its own."
)


def checked_key(key: str | None) -> str | None:
    """The request's key (None without one), or `InvalidIdempotencyKeyError`."""
    if key is None:
        return None
    if not SAFE_KEY.fullmatch(key):
        raise InvalidIdempotencyKeyError(
            f"{HEADER} must be 1-{MAX_KEY_CHARS} characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"
        )
    return key


def record_key(given: str | None) -> str:
    """The key a record is stored under: the caller's, or one of its own that nothing repeats."""
    return given if given is not None else uuid.uuid4().hex
