"""The inventory page: stock against par, a below-par alert arriving live over
WS /v1/inventory/updates while the live page records at the location, history, admin forms."""

import time
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, DESKTOP, TABLET, Service, use_key
from tests.keys import bearer

pytestmark = pytest.mark.browser


def create_location(service: Service, name: str) -> int:
    response = httpx.post(
        f"{service.url}/v1/locations",
        json={"kind": "shelf", "name": name},
        headers=bearer(service.admin_key),
    )
    assert response.status_code == 201, response.text
    location_id: int = response.json()["id"]
    return location_id


def stock_at(service: Service, location_id: int) -> dict[str, int]:
    response = httpx.get(f"{service.url}/v1/inventory", params={"location": location_id})
    return {row["item"]: row["count"] for row in response.json()["stock"]}


def wait_for_stock(service: Service, location_id: int, timeout_s: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while not (stock := stock_at(service, location_id)):
        assert time.monotonic() < deadline, "the live page recorded nothing"
        time.sleep(0.5)
    return stock


def test_a_par_level_above_the_count_raises_an_alert_live(
    browser: Browser, service: Service
) -> None:
    name = f"Ward 3 shelf {uuid.uuid4().hex[:6]}"
    location_id = create_location(service, name)
    context = browser.new_context(viewport=DESKTOP)
    try:
        live, inventory = context.new_page(), context.new_page()
        live.goto(service.console)
        live.get_by_label("Record at location").select_option(label=f"{name} (shelf)")
        live.get_by_role("button", name="Start camera").click()
        stock = wait_for_stock(service, location_id)

        inventory.goto(f"{service.console}#inventory")
        expect(inventory.locator("#updates-state")).to_have_text("Live updates: connected")
        selector = f'[data-location="{location_id}"][data-item="glove_box"]'
        row = inventory.locator(f"#stock tr{selector}")
        expect(row.locator("td").nth(2)).to_have_text(str(stock["glove_box"]))
        inventory.evaluate("() => { window.notReloaded = true; }")

        par_level = stock["glove_box"] + 5
        response = httpx.put(
            f"{service.url}/v1/items/glove_box",
            json={"display_name": "Glove box", "unit": "box", "par_level": par_level},
            headers=bearer(service.admin_key),
        )
        assert response.status_code == 200, response.text

        alert = inventory.locator(f"#alerts li{selector}")
        expect(alert).to_contain_text(f"Glove box — {stock['glove_box']} of par {par_level}")
        expect(row).to_have_class("below-par")
        assert inventory.evaluate("() => window.notReloaded === true"), "it came over the socket"

        row.get_by_role("button", name="History").click()
        expect(inventory.locator("#history-caption")).to_contain_text("hour bucket(s)")
        assert inventory.locator("#history-chart circle").count() >= 1
        assert inventory.locator("#history-chart line.par").count() == 1
        inventory.get_by_label("Buckets").select_option("day")
        expect(inventory.locator("#history-caption")).to_contain_text("day bucket(s)")
        inventory.screenshot(path=ARTIFACTS / "console-inventory.png", full_page=True)
        inventory.set_viewport_size(TABLET)
        inventory.screenshot(path=ARTIFACTS / "console-inventory-tablet.png", full_page=True)
    finally:
        context.close()
        httpx.put(
            f"{service.url}/v1/items/glove_box",
            json={"display_name": "Glove box", "unit": "box"},
            headers=bearer(service.admin_key),
        )


def test_admins_create_locations_and_set_par_levels(page: Page, service: Service) -> None:
    page.goto(f"{service.console}#inventory")
    use_key(page, service.admin_key)
    name = f"Cabinet {uuid.uuid4().hex[:6]}"
    page.get_by_label("Kind").select_option("cabinet")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create location").click()
    expect(page.locator("#admin-state")).to_contain_text(f"Created location “{name}”")
    expect(page.get_by_label("Location", exact=True)).to_contain_text(name)

    page.get_by_label("Item (detector label)").fill("vial")
    page.get_by_label("Item (detector label)").dispatch_event("change")
    expect(page.get_by_label("Display name")).to_have_value("vial")
    page.get_by_label("Display name").fill("Vial 10 ml")
    page.get_by_label("Par level").fill("12")
    page.get_by_role("button", name="Set par level").click()
    expect(page.locator("#admin-state")).to_have_text("Par level of vial set to 12.")

    locations = httpx.get(f"{service.url}/v1/locations").json()["locations"]
    assert {"name": name, "kind": "cabinet"}.items() <= next(
        loc for loc in locations if loc["name"] == name
    ).items()


def test_a_key_without_admin_scope_is_told_so(page: Page, service: Service) -> None:
    page.goto(f"{service.console}#inventory")
    use_key(page, service.read_key)
    page.get_by_label("Name", exact=True).fill("not allowed")
    page.get_by_role("button", name="Create location").click()
    expect(page.locator("#admin-state")).to_contain_text("Forbidden (403)")
    expect(page.locator("#notice")).to_contain_text("Use a key with that scope")
