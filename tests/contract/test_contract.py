"""A short seeded schemathesis run (`make fuzz` is the long one): every answer of every
operation is a documented status with the documented body and headers, never a 5xx."""

from medinv_tools.fuzz.run import contract_run
from medinv_tools.fuzz.service import FuzzedService

SEED = 15
# Per operation and phase: with the coverage phase's boundary cases, ~700 cases in about a minute.
EXAMPLES = 10


def test_every_answer_keeps_to_the_openapi_document(service: FuzzedService) -> None:
    tally = contract_run(
        service.document, service.url, service.key, seed=SEED, max_examples=EXAMPLES
    )

    report = f"\n{tally.table()}\n{tally.failures()}"
    assert tally.server_errors == 0, report
    assert tally.undocumented == 0, report
    assert tally.other_failures == 0, report
    operations = {
        f"{method.upper()} {path}"
        for path, methods in service.document["paths"].items()
        for method in methods
    }
    assert set(tally.operations) == operations, report
    assert tally.cases > 400, report
    # Real answers were checked, not only refusals: a detection ran on the real model.
    assert tally.operations["POST /v1/detect"].statuses[200] > 0, report
