// The inventory page: stock per location and item against par, below-par alerts kept live by
// WS /v1/inventory/updates, a history chart per item, and the admin forms.
import { getJson, sendJson } from "./api.js";
import { drawHistory } from "./chart.js";
import { byId, element, reporting, setState } from "./dom.js";
import { fillLocations } from "./locations.js";
import { InventoryUpdates } from "./updates.js";

const CATCH_UP_DELAY_MS = 300;
const HISTORY_SPAN_DAYS = { hour: 7, day: 90 };

export class InventoryPage {
  constructor() {
    this.stock = new Map(); // "location:item" -> a row of GET /v1/inventory
    this.locations = new Map();
    this.selected = null; // the row whose history is shown
    this.stateNode = byId("updates-state");
    this.updates = new InventoryUpdates({
      message: (update) => this.onUpdate(update),
      resubscribed: () => this.refresh(), // catch up on what happened while not subscribed
      state: (text, options) => setState(this.stateNode, text, options),
    });
    byId("stock-location").addEventListener("change", () => this.render());
    byId("history-bucket").addEventListener("change", () => this.loadHistory());
    byId("location-form").addEventListener("submit", (event) => this.createLocation(event));
    byId("par-form").addEventListener("submit", (event) => this.setParLevel(event));
    byId("par-item").addEventListener("change", () => this.prefillItem());
    window.addEventListener("medinv:keychange", () => this.shown && this.show());
  }

  async show() {
    this.shown = true;
    this.updates.open();
    await this.refresh();
  }

  async refresh() {
    await reporting(this.stateNode, async () => {
      const [{ locations }, { stock }] = await Promise.all([getJson("v1/locations"), getJson("v1/inventory")]);
      this.locations = new Map(locations.map((location) => [location.id, location]));
      this.stock = new Map(stock.map((row) => [rowKey(row), row]));
      fillLocations(byId("stock-location"), locations);
      this.render();
    });
    await reporting(byId("admin-state"), async () => {
      const { active } = await getJson("v1/models");
      byId("par-labels").replaceChildren(...active.labels.map((label) => element("option", { attrs: { value: label } })));
    });
  }

  onUpdate(update) {
    if (update.type === "below_par") {
      for (const alert of update.alerts) this.stock.set(rowKey(alert), alert);
      this.render();
    } else if (update.type === "counts") {
      for (const [item, count] of Object.entries(update.counts)) {
        const row = this.stock.get(`${update.location_id}:${item}`);
        if (row) row.count = count;
      }
      this.render();
      // New items, and alerts that ended, come with the full picture.
      clearTimeout(this.catchUp);
      this.catchUp = setTimeout(() => this.refresh(), CATCH_UP_DELAY_MS);
    }
  }

  render() {
    const only = byId("stock-location").value;
    const rows = [...this.stock.values()]
      .filter((row) => !only || String(row.location_id) === only)
      .sort((a, b) => a.location_id - b.location_id || a.item.localeCompare(b.item));
    byId("stock").tBodies[0].replaceChildren(...rows.map((row) => this.stockRow(row)));
    byId("stock-empty").hidden = rows.length > 0;
    const alerts = [...this.stock.values()].filter((row) => row.below_par_since);
    byId("alerts").replaceChildren(...alerts.map((row) => this.alertItem(row)));
    byId("alerts-empty").hidden = alerts.length > 0;
  }

  locationName(id) {
    return this.locations.get(id)?.name ?? `Location ${id}`;
  }

  stockRow(row) {
    const below = Boolean(row.below_par_since);
    const status = below ? `Below par since ${time(row.below_par_since)}` : row.par_level === null ? "No par level" : "At or above par";
    const history = element("button", { text: "History", attrs: { type: "button", "aria-label": `History of ${row.item} at ${this.locationName(row.location_id)}` } });
    history.addEventListener("click", () => {
      this.selected = row;
      this.loadHistory();
    });
    return element("tr", { className: below ? "below-par" : "", attrs: { "data-location": String(row.location_id), "data-item": row.item } }, [
      element("td", { text: this.locationName(row.location_id) }),
      element("td", { text: row.display_name === row.item ? row.item : `${row.display_name} (${row.item})` }),
      element("td", { text: String(row.count), className: "num" }),
      element("td", { text: row.par_level === null ? "–" : String(row.par_level), className: "num" }),
      element("td", { text: status }),
      element("td", {}, [history]),
    ]);
  }

  alertItem(row) {
    return element("li", {
      text: `${this.locationName(row.location_id)}: ${row.display_name} — ${row.count} of par ${row.par_level} (since ${time(row.below_par_since)})`,
      attrs: { "data-location": String(row.location_id), "data-item": row.item },
    });
  }

  async loadHistory() {
    const row = this.selected;
    if (!row) return;
    const bucket = byId("history-bucket").value;
    const since = new Date(Date.now() - HISTORY_SPAN_DAYS[bucket] * 86400000).toISOString();
    const query = new URLSearchParams({ item: row.item, bucket, since });
    const caption = byId("history-caption");
    await reporting(caption, async () => {
      const { points } = await getJson(`v1/inventory/${row.location_id}/history?${query}`);
      drawHistory(byId("history-chart"), points, row.par_level, bucket);
      const latest = points.at(-1);
      setState(
        caption,
        `${row.item} at ${this.locationName(row.location_id)}: ${points.length} ${bucket} bucket(s)` +
          (latest ? `; latest mean ${latest.mean}, min ${latest.min}, max ${latest.max}` : ""),
      );
    });
  }

  async createLocation(event) {
    event.preventDefault();
    const body = { kind: byId("location-kind").value, name: byId("location-name").value.trim() };
    const camera = byId("location-camera").value.trim();
    if (camera) body.camera_id = camera;
    const state = byId("admin-state");
    await reporting(state, async () => {
      const location = await sendJson("POST", "v1/locations", body);
      setState(state, `Created location “${location.name}” (id ${location.id}).`);
      event.target.reset();
      await this.refresh();
    });
  }

  prefillItem() {
    const label = byId("par-item").value.trim();
    const known = [...this.stock.values()].find((row) => row.item === label);
    byId("par-display-name").value = known?.display_name ?? label;
  }

  async setParLevel(event) {
    event.preventDefault();
    const label = byId("par-item").value.trim();
    const body = {
      display_name: byId("par-display-name").value.trim(),
      unit: byId("par-unit").value.trim(),
      par_level: Number(byId("par-level").value),
    };
    const state = byId("admin-state");
    await reporting(state, async () => {
      const item = await sendJson("PUT", `v1/items/${encodeURIComponent(label)}`, body);
      setState(state, `Par level of ${item.label} set to ${item.par_level}.`);
      await this.refresh();
    });
  }
}

function rowKey(row) {
  return `${row.location_id}:${row.item}`;
}

function time(iso) {
  // The API's times are UTC without an offset.
  const moment = new Date(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso}Z`);
  return `${moment.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
