"""A seeded schemathesis run against the served API, tallied per operation.

schemathesis (the dev extra) generates requests from the OpenAPI document in its examples,
coverage (boundary and invalid values, unexpected methods) and fuzzing phases, in positive and
negative modes, and checks every answer: no 5xx, a documented status, the documented body and
headers, and 401 without a key where the document says one is needed.
"""

import time
from collections.abc import Callable
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder

from medinv_tools.fuzz.tally import SERVER_ERROR, UNDOCUMENTED, Tally

CHECKS = (
    SERVER_ERROR,
    UNDOCUMENTED,
    "response_schema_conformance",
    "response_headers_conformance",
    "content_type_conformance",
    "ignored_auth",
)
# Values at the edges of what the types allow, offered to every string parameter and to these
# body fields now and then (the first runs found 500s with some of them): NUL and other control
# characters, path tricks, datetimes next to the ends of Python's range, very long text.
EDGES = [
    "\x00",
    "a\x00b",
    "\x1f",
    "..",
    "../..",
    "/",
    "a/b",
    "/:tmp",
    "..:..",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59",
    "a" * 300,
    "a" * 300 + ":1",
]
EDGE_BODY_FIELDS = ("name", "camera_id", "display_name", "sku", "unit", "model", "url")
EDGE_PROBABILITY = 0.2
MAX_FAILURE_EXAMPLES = 3
_EDGE_BINDING = {"dictionary": "edges", "probability": EDGE_PROBABILITY}


def contract_run(
    document: dict[str, Any],
    base_url: str,
    key: str,
    *,
    seed: int,
    max_examples: int,
    progress: Callable[[str], None] = print,
) -> Tally:
    config = schemathesis.Config.from_dict(
        {
            "seed": seed,
            "base-url": base_url,
            "continue-on-failure": True,
            "generation": {
                "max-examples": max_examples,
                "mode": "all",
                "database": "none",
                "dictionaries": {"string": _EDGE_BINDING},
            },
            "dictionaries": {"edges": {"values": EDGES}},
            "parameters": {f"body.{name}": _EDGE_BINDING for name in EDGE_BODY_FIELDS},
            "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
            # The API declares no links between operations: nothing to walk.
            "phases": {"stateful": {"enabled": False}},
            "auth": {"openapi": {"BearerKey": {"bearer": key}}},
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    tally = Tally()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and not event.is_final:
            _add(tally, event.recorder)
            progress(
                f"{time.monotonic() - started:7.1f} s  {event.phase.value:<9} "
                f"{event.recorder.label:<42} {tally.cases:>7} cases, "
                f"{tally.server_errors} server errors, {tally.undocumented} undocumented, "
                f"{tally.other_failures} other"
            )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            raise RuntimeError(f"schemathesis could not run: {event}")
    return tally


def _add(tally: Tally, recorder: ScenarioRecorder) -> None:
    for case_id, interaction in recorder.interactions.items():
        node = recorder.cases.get(case_id)
        if node is None:
            continue
        case = node.value
        operation = tally.of(case.operation.label)
        operation.cases += 1
        response = interaction.response
        failed = {
            check.name
            for check in recorder.checks.get(case_id, [])
            if check.status.name == "FAILURE"
        }
        if response is None:  # no answer at all: the server failed it
            failed.add(SERVER_ERROR)
        else:
            operation.statuses[response.status_code] += 1
        operation.server_errors += SERVER_ERROR in failed
        operation.undocumented += UNDOCUMENTED in failed
        operation.other_failures += bool(failed - {SERVER_ERROR, UNDOCUMENTED})
        if failed and len(operation.examples) < MAX_FAILURE_EXAMPLES:
            answer = f"{response.status_code} {response.content[:200]!r}" if response else "none"
            operation.examples.append(
                f"{', '.join(sorted(failed))}: {answer} <- {case.as_curl_command()}"
            )
