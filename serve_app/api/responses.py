"""The error responses a route documents in OpenAPI (FastAPI's `responses=`), built in one place.

A route names what can go wrong on it as `Outcome`s; most come from a domain error, whose
status and headers are those of the one table in `api/errors.py`. Outcomes that share a status
become one response whose description lists them, with the error body's schema and the headers
that status carries (required when every outcome behind it sends them).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from serve_app.api.errors import headers_of, status_of
from serve_app.api.schemas.detection import ErrorResponse
from serve_app.core.errors import (
    InvalidParameterError,
    NotReadyError,
    ServiceError,
    StoreUnavailableError,
)

_HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Retry-After": {"type": "integer", "minimum": 0, "description": "seconds to wait"},
    "WWW-Authenticate": {"type": "string", "description": "`Bearer`"},
    "RateLimit-Limit": {"type": "integer", "minimum": 0, "description": "the burst"},
    "RateLimit-Remaining": {"type": "integer", "minimum": 0},
    "RateLimit-Reset": {"type": "integer", "minimum": 0, "description": "seconds to full"},
}

Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    """One way a route can fail: its status, when it happens, and its headers (name → always
    sent)."""

    status: int
    when: str
    headers: Mapping[str, bool] = field(default_factory=dict)

    @classmethod
    def of(cls, error: type[ServiceError], when: str) -> "Outcome":
        """The outcome of a domain error; its description names the error's `code`."""
        return cls(status_of(error), f"`{error.code}`: {when}", headers_of(error))


def error_responses(*outcomes: Outcome) -> Responses:
    by_status: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(outcome)
    return {status: _response(by_status[status]) for status in sorted(by_status)}


def _response(outcomes: list[Outcome]) -> dict[str, Any]:
    whens = list(dict.fromkeys(outcome.when for outcome in outcomes))
    response: dict[str, Any] = {"model": ErrorResponse, "description": "; ".join(whens)}
    names = list(dict.fromkeys(name for outcome in outcomes for name in outcome.headers))
    if names:
        response["headers"] = {
            name: {
                "schema": _HEADER_SCHEMAS[name],
                "required": all(outcome.headers.get(name, False) for outcome in outcomes),
            }
            for name in names
        }
    return response


# Outcomes many routes share.
INVALID = Outcome.of(InvalidParameterError, "a parameter is out of range or malformed")
MALFORMED_BODY = Outcome(400, "`bad_request`: the body is not UTF-8 JSON text")
STORE_DOWN = Outcome.of(StoreUnavailableError, "the inventory database is unreachable")
NOT_READY = Outcome.of(NotReadyError, "no detector has its model loaded yet")
