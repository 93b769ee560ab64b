"""The OpenAPI document: FastAPI's, with what each guarded operation's security means here.

FastAPI already lists the credential schemes and, per operation, the requirement its guard
declares (`BearerKey` or `HeaderKey`, with the guard's scope as the requirement's role). API key
schemes carry no scopes of their own, so each operation's description names the scope too, and
where this replica lets callers without a key through (auth off, not an admin route) the
requirement is marked optional (`{}`).
"""

from typing import Any

from fastapi import FastAPI

from serve_app.access.keys import Scope
from serve_app.api.guards import Guard, guard_for


def install_openapi(app: FastAPI, *, auth_required: bool) -> None:
    generate = app.openapi
    described: list[dict[str, Any]] = []  # the document last described (FastAPI may redo it)

    def openapi() -> dict[str, Any]:
        document = generate()
        if not described or described[0] is not document:
            _describe_security(document, auth_required)
            described[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _describe_security(document: dict[str, Any], auth_required: bool) -> None:
    for operations in document["paths"].values():
        for operation in operations.values():
            requirements = operation.get("security")
            if not requirements:
                continue
            (roles,) = requirements[0].values()  # one scheme of the guard's, its scope as role
            guard = guard_for(Scope(roles[0]))
            note = _requirement(guard, auth_required)
            existing = operation.get("description")
            operation["description"] = f"{note}\n\n{existing}" if existing else note
            if guard.key_optional(auth_required):
                requirements.append({})


def _requirement(guard: Guard, auth_required: bool) -> str:
    needs = (
        f"Needs an API key with the `{guard.scope}` scope "
        "(`Authorization: Bearer <key>` or `X-API-Key: <key>`)"
    )
    if guard.key_optional(auth_required):
        return f"{needs} when `MEDINV_AUTH_REQUIRED` is on; without it, also answers without a key."
    return f"{needs}."
