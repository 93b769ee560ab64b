"""Basic accessibility on every page, at 1280x800 and at a tablet's 820x1180: labelled controls,
readable contrast, no sideways scrolling, and the console driven by the keyboard alone."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, DESKTOP, TABLET, Service

pytestmark = pytest.mark.browser

PAGES = ["live", "inventory", "models"]
CHECKS = Path(__file__).parent
UNLABELLED = (CHECKS / "unlabelled_controls.js").read_text()
LOW_CONTRAST = (CHECKS / "low_contrast_text.js").read_text()
# Interactive elements a Tab can reach.
FOCUSABLE = """() => [...document.querySelectorAll("a[href], button, input, select, [tabindex]")]
  .filter((node) => node.offsetParent !== null && !node.disabled).length"""


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1280x800", "820x1180"])
def test_every_page_is_labelled_readable_and_fits(
    page: Page, service: Service, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    page.goto(service.console)
    for name in PAGES:
        page.get_by_role("link", name=name.capitalize()).click()
        expect(page.locator(f"#page-{name}")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate(UNLABELLED) == [], name
        assert page.evaluate(LOW_CONTRAST) == [], name
        assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), name
        size = f"{viewport['width']}x{viewport['height']}"
        page.screenshot(path=ARTIFACTS / f"a11y-{name}-{size}.png", full_page=True)


def test_the_keyboard_alone_reaches_every_page_and_control(page: Page, service: Service) -> None:
    page.goto(service.console)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == "Models":
            break
    focused = page.get_by_role("link", name="Models")
    expect(focused).to_be_focused()
    outline = focused.evaluate("(link) => getComputedStyle(link).outlineStyle")
    assert outline != "none", "the focused control shows it"
    page.keyboard.press("Enter")
    expect(page.locator("#page-models")).to_be_visible()
    expect(page.get_by_role("link", name="Models")).to_have_attribute("aria-current", "page")

    # Every visible interactive element takes focus by Tab, in the order of the page.
    reachable = page.evaluate(FOCUSABLE)
    focused_ids = set()
    for _ in range(reachable + 5):
        page.keyboard.press("Tab")
        focused_ids.add(page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
    assert len(focused_ids) >= reachable - 1
