"""One webhook attempt: POST an event's body, signed with its subscription's secret.

The signature is Stripe's scheme: `Medinv-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the secret>`. Every attempt signs anew with its own time, so a receiver
can refuse old (replayed) requests by `t` alone. docs/inventory.md shows how to verify it.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass

import aiohttp

EVENT_ID_HEADER = "Medinv-Event-Id"
EVENT_TYPE_HEADER = "Medinv-Event-Type"
SIGNATURE_HEADER = "Medinv-Signature"
USER_AGENT = "medinv-webhooks/1"


@dataclass(frozen=True)
class Delivery:
    """An outbox row a dispatcher has leased, with where and how to send it."""

    outbox_id: int
    event_id: str
    event_type: str
    payload: str
    attempts: int  # this attempt included
    url: str
    secret: str


def signature(secret: str, timestamp: int, body: str) -> str:
    """The `Medinv-Signature` header's value for this body at this time."""
    signed = f"{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def send(http: aiohttp.ClientSession, delivery: Delivery, *, timeout_s: float) -> str | None:
    """POST the delivery; None when the receiver answered 2xx within the timeout, else what
    went wrong instead. Redirects are not followed: a 3xx is a failure too."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: delivery.event_id,
        EVENT_TYPE_HEADER: delivery.event_type,
        SIGNATURE_HEADER: signature(delivery.secret, int(time.time()), delivery.payload),
    }
    try:
        async with http.post(
            delivery.url,
            data=delivery.payload.encode(),
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except Exception as error:  # refused, reset, DNS, TLS, a malformed URL: all a failed attempt
        return f"{type(error).__name__}: {error}"
