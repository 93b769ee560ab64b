import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """Debian's promtool; `make test` installs the package. Skipped (a failure in CI) if absent."""
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not installed (make prometheus / apt-get install prometheus)")
    return found
