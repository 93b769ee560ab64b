"""The console's files, served by the API app at / and /console/: without a key (they hold no
data), with a strict CSP, and every module they import present."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.api.console import CONSOLE_DIR
from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder

IMPORT = re.compile(r"""^import .* from "\./([\w.]+)";$""", re.MULTILINE)


@pytest.fixture
def auth_on(pipeline: LocalPipeline, tmp_path: Path, sqlite_url: str) -> TestClient:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, auth_required=True)
    app = create_api(
        pipeline,
        InventoryRecorder.open(settings),
        IngressArgs(),
        settings,
        behind_serve_proxy=False,
    )
    return TestClient(app)


@pytest.mark.parametrize("path", ["/", "/console"])
def test_the_root_leads_to_the_console(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "console/", "relative: any route prefix holds"
    followed = client.get(path)
    assert followed.url.path == "/console/"
    assert "<title>Medical inventory console</title>" in followed.text


def test_the_console_loads_without_a_key_when_auth_is_on(auth_on: TestClient) -> None:
    page = auth_on.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-cache"
    assert auth_on.get("/v1/models").status_code == 401, "the data still needs a key"


def test_every_module_the_console_imports_is_served_as_javascript(client: TestClient) -> None:
    index = client.get("/console/").text
    assert 'href="console.css"' in index and 'src="js/main.js"' in index
    assert client.get("/console/console.css").headers["content-type"].startswith("text/css")
    seen, waiting = set(), ["main.js"]
    while waiting:
        name = waiting.pop()
        response = client.get(f"/console/js/{name}")
        assert response.status_code == 200, name
        assert "javascript" in response.headers["content-type"], name
        seen.add(name)
        waiting += [module for module in IMPORT.findall(response.text) if module not in seen]
    assert seen == {path.name for path in (CONSOLE_DIR / "js").glob("*.js")}, "no dead module"


@pytest.mark.parametrize(
    "path",
    ["/console/missing.js", "/console/..%2fapi%2fconsole.py", "/console/js/../../api/app.py"],
)
def test_nothing_outside_the_console_is_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_console_is_not_part_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith("/console")]
