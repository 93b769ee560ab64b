"""The live page reconnects when its socket drops and resumes its stream session: frame
numbers go on from where they were. The drop is a cut TCP proxy between Chromium and the
service."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from medinv_tools.tcp_proxy import TcpProxy
from tests.browser.conftest import Service

pytestmark = pytest.mark.browser


@pytest.fixture
def proxy(service: Service) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", service.port)
    proxy.start()
    yield proxy
    proxy.close()


def test_a_dropped_socket_reconnects_and_resumes_the_session(page: Page, proxy: TcpProxy) -> None:
    page.goto(f"http://127.0.0.1:{proxy.port}/console/")
    page.get_by_role("button", name="Start camera").click()
    page.wait_for_function("() => Number(document.getElementById('stat-answered').innerText) >= 3")
    before = int(page.locator("#stat-frame").inner_text())

    proxy.cut()
    expect(page.locator("#live-state")).to_contain_text("Connection lost")
    page.wait_for_timeout(1500)
    proxy.restore()

    expect(page.locator("#live-state")).to_contain_text("Session resumed at frame", timeout=30_000)
    resumed_at = int(page.locator("#live-state").inner_text().rsplit(" ", 1)[-1].rstrip("."))
    assert resumed_at > before, "a new session would number its frames from 0"
    assert int(page.locator("#stat-reconnects").inner_text()) >= 1
