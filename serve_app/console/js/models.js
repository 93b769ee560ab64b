// The models page: the active version and every registered one with its metrics; an admin
// activates another after a confirmation.
import { getJson, sendJson } from "./api.js";
import { byId, element, reporting, setState } from "./dom.js";

const SWITCH_POLL_MS = 1000;
const SWITCH_POLLS = 30;

export class ModelsPage {
  constructor() {
    this.stateNode = byId("models-state");
    this.dialog = byId("activate-dialog");
    this.dialog.addEventListener("close", () => {
      if (this.dialog.returnValue === "confirm" && this.pending) this.activate(this.pending);
      this.pending = null;
    });
    window.addEventListener("medinv:keychange", () => this.shown && this.show());
  }

  async show() {
    this.shown = true;
    await reporting(this.stateNode, async () => this.render(await getJson("v1/models")));
  }

  render(info) {
    const active = info.active;
    const activeRef = `${active.name}:${active.version}`;
    byId("active-model").textContent = activeRef;
    byId("active-details").textContent =
      `${active.architecture}, ${active.format}, on ${info.device}; input ${active.input_size.join("×")}, ` +
      `default minimum score ${active.score_threshold}; batches of up to ${info.batching.max_batch_size}.`;
    const rows = info.available.map((model) => {
      const ref = `${model.name}:${model.version}`;
      const isActive = ref === activeRef;
      const action = element("button", {
        text: isActive ? "Active" : "Activate",
        attrs: { type: "button", "aria-label": isActive ? `${ref} is active` : `Activate ${ref}` },
      });
      action.disabled = isActive;
      action.addEventListener("click", () => this.confirm(ref));
      return element("tr", { attrs: { "data-model": ref } }, [
        element("td", { text: ref }),
        element("td", { text: model.format }),
        element("td", { text: model.architecture }),
        element("td", { text: metricsText(model.metrics) }),
        element("td", {}, [action]),
      ]);
    });
    byId("models-table").tBodies[0].replaceChildren(...rows);
  }

  confirm(ref) {
    this.pending = ref;
    byId("activate-text").textContent =
      `Switch every detector replica to ${ref}? Detections in flight finish on their model; this needs an admin key.`;
    this.dialog.returnValue = "";
    this.dialog.showModal();
  }

  async activate(ref) {
    await reporting(this.stateNode, async () => {
      const answer = await sendJson("PUT", "v1/models/active", { model: ref });
      setState(this.stateNode, `Switching from ${answer.previous.name}:${answer.previous.version} to ${ref}…`);
      for (let poll = 0; poll < SWITCH_POLLS; poll += 1) {
        const info = await getJson("v1/models");
        if (`${info.active.name}:${info.active.version}` === ref) {
          this.render(info);
          setState(this.stateNode, `${ref} is active.`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, SWITCH_POLL_MS));
      }
      setState(this.stateNode, `${ref} is not active yet; check again shortly.`, { error: true });
    });
  }
}

function metricsText(metrics) {
  const parts = Object.entries(metrics ?? {}).map(([split, figures]) => {
    const map50 = figures.map50 === undefined ? "" : ` mAP@0.5 ${figures.map50}`;
    const map = figures.map === undefined ? "" : `, mAP ${figures.map}`;
    return `${split}:${map50}${map}`;
  });
  return parts.length ? parts.join("; ") : "no evaluation";
}
