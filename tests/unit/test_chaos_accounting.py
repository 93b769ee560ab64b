"""The chaos run's pure parts: windows, records matched by idempotency key, recovery times,
the targets and the table, the per-request images."""

import hashlib
import io
import os
from pathlib import Path

from PIL import Image

from loadtest.chaos.accounting import (
    FaultWindow,
    account,
    recovered_now,
    recovery_s,
    stored_keys,
)
from loadtest.chaos.faults import descends_from
from loadtest.chaos.images import unique_jpeg
from loadtest.chaos.outcomes import Outcome, read_outcomes
from loadtest.chaos.report import table, targets
from medinv_tools.paths import REPO_ROOT

T0 = 1_000_000.0
KEY = "chaos-0123abcd-{:032x}"


def detect(second: float, n: int, status: str = "200", recorded: str | None = "written") -> Outcome:
    return Outcome("detect", T0 + second, T0 + second + 0.5, status, KEY.format(n), recorded)


def test_rows_split_requests_by_the_window_they_started_in_and_match_records_by_key() -> None:
    outcomes = [
        detect(1, 1),
        detect(11, 2),  # accepted, its row missing: lost
        detect(12, 3, status="500", recorded=None),  # failed, yet stored: unacknowledged
        detect(13, 4, recorded="queued"),
        detect(14, 5, recorded="duplicate"),
        Outcome("frame", T0 + 15, T0 + 15.2, "ConnectionResetError"),
    ]
    stored = [KEY.format(1), f"caller:{KEY.format(3)}", KEY.format(4), KEY.format(5), "other"]
    windows = [FaultWindow("kill Detector", T0 + 10, T0 + 10, T0 + 20)]
    accounting = account(outcomes, stored, windows, T0, T0 + 20)
    baseline, fault = accounting.rows
    assert (baseline.fault, baseline.sent, baseline.accepted, baseline.stored) == (
        "baseline", 1, 1, 1,
    )  # fmt: skip
    assert fault.sent == 5
    assert fault.failed == {"500": 1, "ConnectionResetError": 1}
    assert (fault.accepted, fault.stored, fault.lost, fault.unacknowledged) == (3, 3, 1, 1)
    assert accounting.total.lost == 1
    assert accounting.unmatched_rows == 1


def test_rows_of_one_key_beyond_the_first_are_duplicates() -> None:
    keys, unmatched = stored_keys([KEY.format(7), f"a:{KEY.format(7)}", KEY.format(8)])
    assert keys[KEY.format(7)] == 2 and unmatched == 0
    accounting = account([detect(1, 7), detect(2, 8)], list(keys.elements()), [], T0, T0 + 5)
    assert accounting.total.duplicated == 1
    assert accounting.total.lost == 0


def successes(per_second: list[int]) -> list[Outcome]:
    return [
        Outcome("frame", T0 + s, T0 + s + 0.1, "ok")
        for s, count in enumerate(per_second)
        for _ in range(count)
    ]


def test_recovery_ends_with_the_last_second_under_the_pre_fault_level() -> None:
    rates = [4] * 20 + [0] * 8 + [4] * 20  # a dip of 8 s right after the fault at 20 s
    window = FaultWindow("kill Ingress", T0 + 20, T0 + 20, T0 + len(rates))
    row = account(successes(rates), [], [window], T0, T0 + len(rates)).rows[1]
    # The centred 9 s mean (4 s either side) stays under 70 % of 4/s (2.8) up to the dip's
    # second second after it: three zeros in nine average 2.67; two make 3.11.
    assert row.recovery_s == 10.0
    untouched = FaultWindow("kill Preprocessor", T0 + 20, T0 + 20, T0 + 40)
    assert recovery_s([4] * 40, T0, untouched) == 0.0


def test_a_window_that_ends_under_its_level_did_not_recover() -> None:
    rates = [4] * 20 + [0] * 10
    window = FaultWindow("cut PostgreSQL", T0 + 20, T0 + 25, T0 + 30)
    assert recovery_s(rates, T0, window) is None


def test_recovered_now_waits_for_the_clearing_and_settled_seconds() -> None:
    rates = [4] * 20 + [0] * 5 + [4] * 15
    window = FaultWindow("cut Redis", T0 + 20, T0 + 22, float("inf"))
    assert not recovered_now(rates[:30], T0, window, T0 + 30, settle_s=5)
    assert recovered_now(rates, T0, window, T0 + 40, settle_s=5)
    cut = FaultWindow("cut Redis", T0 + 20, T0 + 38, float("inf"))
    assert not recovered_now([4] * 40, T0, cut, T0 + 40, settle_s=5)


def test_targets_pass_and_fail_on_the_totals_and_each_fault() -> None:
    rates = [4] * 20 + [0] * 40 + [4] * 10
    window = FaultWindow("cut PostgreSQL", T0 + 20, T0 + 60, T0 + len(rates))
    outcomes = [*successes(rates), detect(30, 1, status="503", recorded=None)]
    accounting = account(outcomes, [], [window], T0, T0 + len(rates))
    records, failures, recovery = targets(accounting)
    assert records.passed
    assert not failures.passed and "1 of" in failures.detail
    assert not recovery.passed and "cut PostgreSQL" in recovery.detail
    rendered = table(accounting)
    assert "| cut PostgreSQL" in rendered and "503:1" in rendered and "| total" in rendered


def test_outcomes_round_trip_and_a_cut_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    written = detect(1, 1)
    path.write_text(written.to_json() + "\n" + written.to_json()[:20])
    assert read_outcomes(path) == [written]
    assert written.accepted and not detect(1, 2, recorded=None).accepted


def test_only_descendants_of_the_cluster_process_may_be_killed() -> None:
    assert descends_from(os.getpid(), os.getppid())
    assert not descends_from(os.getppid(), os.getpid())


def test_a_request_in_flight_when_the_fault_hits_is_the_faults() -> None:
    in_flight = Outcome("detect", T0 + 9.8, T0 + 10.4, "500", KEY.format(9))
    windows = [FaultWindow("kill Ingress", T0 + 10, T0 + 10, T0 + 20)]
    baseline, fault = account([in_flight], [], windows, T0, T0 + 20).rows
    assert (baseline.sent, fault.sent, fault.failed) == (0, 1, {"500": 1})


def test_the_last_seconds_of_a_window_belong_to_the_next_faults_dip() -> None:
    rates = [4] * 20 + [4] * 18 + [0, 0]  # the next fault's dip shows in the centred mean
    window = FaultWindow("cut Redis", T0 + 20, T0 + 20, T0 + 38)
    assert recovery_s(rates, T0, window) == 0.0


def test_each_request_sends_the_same_picture_in_bytes_of_its_own() -> None:
    shelf = (REPO_ROOT / "examples" / "shelf.jpg").read_bytes()
    first, second = unique_jpeg(shelf, "chaos-a"), unique_jpeg(shelf, "chaos-b")
    assert len({hashlib.sha256(b).digest() for b in (shelf, first, second)}) == 3
    with Image.open(io.BytesIO(first)) as tagged, Image.open(io.BytesIO(shelf)) as plain:
        assert tagged.app["COM"] == b"chaos-a"
        assert tagged.tobytes() == plain.tobytes()
