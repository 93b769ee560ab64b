"""The console's static files: all of them packaged (a non-editable install has them), no
CDN or remote reference, and small. Prints the total size."""

import re
import tomllib

from medinv_tools.paths import REPO_ROOT
from serve_app.api.console import CONSOLE_DIR

MAX_TOTAL_BYTES = 100_000
REMOTE = re.compile(r"""(src|href|from|import)\s*=?\s*["'](https?:)?//""")


def console_files() -> list[str]:
    package = REPO_ROOT / "serve_app"
    return sorted(str(p.relative_to(package)) for p in CONSOLE_DIR.rglob("*") if p.is_file())


def test_every_console_file_is_package_data() -> None:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["serve_app"]
    package = REPO_ROOT / "serve_app"
    packaged = {str(path.relative_to(package)) for p in patterns for path in package.glob(p)}
    assert console_files() and set(console_files()) <= packaged


def test_the_console_fetches_nothing_remote_and_stays_small() -> None:
    total = 0
    for name in console_files():
        text = (REPO_ROOT / "serve_app" / name).read_text()
        assert not REMOTE.search(text), name
        total += len(text.encode())
    print(f"\nthe console: {len(console_files())} files, {total} bytes")
    assert total <= MAX_TOTAL_BYTES
