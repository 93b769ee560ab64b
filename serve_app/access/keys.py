"""API keys: their shape, their scopes, and the hash that is all the database keeps.

A key reads `mik_<id>_<secret>`. The id is public (listed, revoked by it) and finds the stored
hash; the secret has 256 random bits, so a plain SHA-256 of the whole key is as good as a slow
password hash and keeps every request's check cheap.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "mik"


class Scope(StrEnum):
    DETECT = "detect"  # POST /v1/detect, WS /v1/stream
    READ = "read"  # GETs of inventory, locations, alerts, models
    ADMIN = "admin"  # model swap, item and location writes


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str  # the whole key, shown once

    @property
    def secret_hash(self) -> str:
        return hash_key(self.secret)


@dataclass(frozen=True)
class KeyRecord:
    """What a replica knows about a key: never the secret itself."""

    key_id: str
    name: str
    scopes: frozenset[Scope]
    secret_hash: str
    requests_per_minute: int | None = None
    frames_per_minute: int | None = None

    def matches(self, presented: str) -> bool:
        return hmac.compare_digest(hash_key(presented), self.secret_hash)


def generate_key() -> NewKey:
    key_id = secrets.token_hex(6)
    return NewKey(key_id=key_id, secret=f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}")


def hash_key(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


def key_id_of(presented: str) -> str | None:
    """The id part of a presented key, or None when it does not have a key's shape."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != 12 or not secret:
        return None
    return key_id


def parse_scopes(text: str) -> frozenset[Scope]:
    """`detect,read` → the scopes; a ValueError names an unknown one."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("at least one scope is needed")
    try:
        return frozenset(Scope(name) for name in names)
    except ValueError:
        raise ValueError(f"scopes are {', '.join(s.value for s in Scope)}; got {text!r}") from None
