"""API keys in the browser: kept in sessionStorage, sent as a header and as the WebSocket
subprotocol, never in a URL; clear messages for 401, 403 and 429."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Service, new_key, use_key

pytestmark = pytest.mark.browser

WRONG_KEY = "mik_000000000000_not-a-real-secret"


def test_a_wrong_key_shows_the_401_message(page: Page, service: Service) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    page.goto(service.console)
    use_key(page, WRONG_KEY)

    page.get_by_role("button", name="Start camera").click()
    expect(page.locator("#live-state")).to_contain_text("Not authorized (401)")
    expect(page.locator("#live-state")).to_contain_text("unknown or revoked")
    page.get_by_role("link", name="Inventory").click()
    expect(page.locator("#notice")).to_contain_text("Not authorized (401)")
    expect(page.locator("#updates-state")).to_contain_text("Not authorized (401)")
    assert page.locator("#stat-reconnects").inner_text() == "0", "a refusal is not retried"

    assert page.evaluate("() => sessionStorage.getItem('medinv.apiKey')") == WRONG_KEY
    assert page.evaluate("() => localStorage.length") == 0
    # Playwright hands over request and socket events as they come in: wait for both (at most
    # 5 s), since the page may show an answer before its event has been dispatched here.
    for _ in range(100):
        if any("/v1/stream" in u for u in urls) and any("/v1/inventory" in u for u in urls):
            break
        page.wait_for_timeout(50)
    assert any("/v1/stream" in url for url in urls) and any("/v1/inventory" in url for url in urls)
    assert not [url for url in urls if "not-a-real-secret" in url or "mik_" in url]


def test_the_key_goes_as_a_header_and_as_the_websocket_subprotocol(
    page: Page, service: Service
) -> None:
    # A read key: the REST calls pass, and the stream's refusal (it needs `detect`) shows that
    # the socket carried the key (without one, auth off, it would stream).
    key = new_key(service, "read")
    sent: list[dict[str, str]] = []
    page.on("request", lambda request: sent.append(request.headers))
    page.goto(service.console)
    use_key(page, key)
    page.get_by_role("link", name="Inventory").click()
    expect(page.locator("#updates-state")).to_have_text("Live updates: connected")
    assert any(headers.get("authorization") == f"Bearer {key}" for headers in sent)
    page.get_by_role("link", name="Live").click()
    page.get_by_role("button", name="Start camera").click()
    expect(page.locator("#live-state")).to_contain_text("Forbidden (403)")
    expect(page.locator("#live-state")).to_contain_text("lacks the detect scope")

    page.get_by_role("button", name="Forget").click()
    assert page.evaluate("() => sessionStorage.getItem('medinv.apiKey')") is None


def test_a_spent_budget_shows_the_429_message(page: Page, service: Service) -> None:
    key = new_key(service, "read", requests_per_minute=1)
    page.goto(f"{service.console}#inventory")
    use_key(page, key)  # the page's calls spend the one request a minute at once
    expect(page.locator("#notice")).to_contain_text("Rate limited (429)")
    expect(page.locator("#notice")).to_contain_text("retry in")
