"""Checking that a webhook request comes from the service: its `Medinv-Signature` header.

The scheme of docs/inventory.md ("Verifying a request"): `Medinv-Signature: t=<unix seconds>,
v1=<hex HMAC-SHA256 of "<t>.<body>", keyed with the subscription's secret>`, where `t` is the
time of that delivery attempt. Verify over the raw body, before parsing it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Medinv-Signature"
EVENT_ID_HEADER = "Medinv-Event-Id"
EVENT_TYPE_HEADER = "Medinv-Event-Type"
DEFAULT_TOLERANCE_S = 300.0


def verify_webhook(
    body: bytes,
    signature_header: str,
    secret: str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> bool:
    """Whether `signature_header` (the request's `Medinv-Signature`) signs the raw `body` with
    `secret` (the one `create_webhook` returned), at a time `t` at most `tolerance_s` seconds
    from `now` (default: this machine's clock) either way, so that a captured request cannot be
    replayed later. The comparison takes constant time. False for a missing or malformed header,
    never an exception."""
    fields = dict(part.split("=", 1) for part in signature_header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    signed = f"{timestamp}.".encode() + bytes(body)
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged header's).
    return hmac.compare_digest(expected.encode(), fields.get("v1", "").encode())
