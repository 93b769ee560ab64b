"""The models page (versions with metrics, activation with a confirmation) and Upload (the
annotated image and the JSON)."""

import json

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, EXAMPLE_SHELF, REPO_ROOT, Service, use_key
from tests.keys import bearer

pytestmark = pytest.mark.browser

CAMERA_FRAME = REPO_ROOT / "examples" / "camera-frame.jpg"
# A drop of a file built in the page, as a drag from the desktop delivers it.
DROP = """([name, bytes]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "image/jpeg" }));
  document.getElementById("drop-zone").dispatchEvent(
    new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }),
  );
}"""


def active_model(service: Service) -> str:
    active = httpx.get(f"{service.url}/v1/models").json()["active"]
    return f"{active['name']}:{active['version']}"


def test_versions_with_metrics_and_activation_after_a_confirmation(
    page: Page, service: Service
) -> None:
    before = active_model(service)
    page.goto(f"{service.console}#models")
    use_key(page, service.admin_key)
    expect(page.locator("#active-model")).to_have_text(before)
    rows = page.locator("#models-table tbody tr")
    expect(rows).to_have_count(len(httpx.get(f"{service.url}/v1/models").json()["available"]))
    other = "medical-supplies-ssdlite:1.0.0"
    row = page.locator(f'#models-table tr[data-model="{other}"]')
    expect(row).to_contain_text("standard: mAP@0.5 0.998")
    try:
        row.get_by_role("button", name=f"Activate {other}").press("Enter")
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(f"Switch every detector replica to {other}?")
        dialog.get_by_role("button", name="Cancel").press("Enter")
        expect(dialog).to_be_hidden()
        assert active_model(service) == before, "cancelled: nothing changes"

        row.get_by_role("button", name=f"Activate {other}").click()
        page.get_by_role("dialog").get_by_role("button", name="Activate").click()
        expect(page.locator("#models-state")).to_have_text(f"{other} is active.", timeout=30_000)
        expect(page.locator("#active-model")).to_have_text(other)
        assert active_model(service) == other
    finally:
        httpx.put(
            f"{service.url}/v1/models/active",
            json={"model": before},
            headers=bearer(service.admin_key),
            timeout=60,
        )


def test_upload_shows_the_annotated_image_and_the_json(page: Page, service: Service) -> None:
    page.goto(f"{service.console}#models")
    page.get_by_label("choose an image file").set_input_files(EXAMPLE_SHELF)
    image = page.get_by_role("img", name="The uploaded image with its detections drawn")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.getElementById('upload-image').complete")
    assert image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [640, 480]
    shown = json.loads(page.locator("#upload-json").inner_text())
    expected = httpx.post(
        f"{service.url}/v1/detect",
        content=EXAMPLE_SHELF.read_bytes(),
        headers={"Content-Type": "image/jpeg"},
        timeout=60,
    ).json()
    assert shown["counts"] == expected["counts"]
    expect(page.locator("#upload-state")).to_contain_text(
        f"shelf.jpg: {sum(expected['counts'].values())} item(s), 640\u00d7480."
    )
    page.screenshot(path=ARTIFACTS / "console-models.png", full_page=True)

    page.evaluate(DROP, ["camera-frame.jpg", list(CAMERA_FRAME.read_bytes())])
    expect(page.locator("#upload-state")).to_contain_text("camera-frame.jpg:", timeout=60_000)
    page.wait_for_function("() => document.getElementById('upload-image').naturalWidth === 1280")
