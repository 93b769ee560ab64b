// The console's entry point: the API key field, and pages chosen by the URL's hash.
import { showNotice } from "./dom.js";
import { InventoryPage } from "./inventory.js";
import { currentKey, saveKey } from "./keys.js";
import { LivePage } from "./live.js";
import { ModelsPage } from "./models.js";
import { UploadPanel } from "./upload.js";

const pages = { live: new LivePage(), inventory: new InventoryPage(), models: new ModelsPage() };
new UploadPanel();

function route() {
  const name = location.hash.slice(1) in pages ? location.hash.slice(1) : "live";
  for (const [page, controller] of Object.entries(pages)) {
    const link = document.querySelector(`nav a[data-page="${page}"]`);
    document.getElementById(`page-${page}`).hidden = page !== name;
    if (page === name) {
      link.setAttribute("aria-current", "page");
      controller.show();
    } else {
      link.removeAttribute("aria-current");
    }
  }
}

const keyField = document.getElementById("api-key");
keyField.value = currentKey();
document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showNotice("");
  saveKey(keyField.value.trim());
});
document.getElementById("key-forget").addEventListener("click", () => {
  keyField.value = "";
  showNotice("");
  saveKey("");
});
window.addEventListener("hashchange", route);
route();
