"""A shortened `loadtest chaos` run: every fault once (cuts of 10 s) under Locust load on a
cluster of its own, and no record the service accepted is lost or stored twice.

The timing and failure-rate targets are `make chaos`'s to report (docs/reliability.md), not
asserted here: on a shared 2-CPU machine they measure the machine as much as the service.
"""

from pathlib import Path

import pytest

from loadtest.chaos.faults import ALL_FAULTS
from loadtest.chaos.run import ChaosOptions, run_chaos

pytestmark = pytest.mark.serve

ROWS = [
    "baseline",
    "kill Detector",
    "kill Preprocessor",
    "kill Ingress",
    "cut PostgreSQL",
    "cut Redis",
    "restart controller",
]


def test_a_short_chaos_run_accounts_for_every_accepted_record(
    models_root: Path, tmp_path: Path
) -> None:
    options = ChaosOptions(
        out_dir=tmp_path / "chaos",
        faults=ALL_FAULTS,
        cut_s=10.0,
        detect_users=2,
        stream_users=1,
        warmup_s=10.0,
        settle_s=5,
        max_recovery_s=90.0,
        models_root=models_root,
    )
    result = run_chaos(options)
    assert [row.fault for row in result.accounting.rows] == ROWS
    assert [w.detail for w in result.windows if w.detail.startswith("not injected")] == []
    total = result.accounting.total
    assert total.accepted > 0, result.table
    assert (total.lost, total.duplicated) == (0, 0), result.table
    assert result.png_path.stat().st_size > 0
    assert result.json_path.stat().st_size > 0
