"""Fixtures shared by every test layer."""

import os
from pathlib import Path

import pytest

from serve_app.demo_model import DEMO_MODEL, ensure_demo_model


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models root of the tests' own holding the demo model (never the repo's models/)."""
    root = tmp_path_factory.mktemp("models")
    ensure_demo_model(root)
    return root


@pytest.fixture(scope="session")
def demo_model_dir(models_root: Path) -> Path:
    return models_root / DEMO_MODEL.name / DEMO_MODEL.version


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With MEDINV_REQUIRE_SERVICES=1 (CI), a skipped test is a failure, not a pass in disguise."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("MEDINV_REQUIRE_SERVICES") == "1"
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped while MEDINV_REQUIRE_SERVICES=1: {report.longrepr}"
