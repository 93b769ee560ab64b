// Upload: one image in, the service's annotated JPEG and the JSON out. The second request
// sends the same bytes with the same parameters, so the result cache answers it.
import { request } from "./api.js";
import { byId, reporting, setState } from "./dom.js";

const TYPES = ["image/jpeg", "image/png", "image/webp"];

export class UploadPanel {
  constructor() {
    this.stateNode = byId("upload-state");
    this.objectUrl = null;
    const zone = byId("drop-zone");
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      const [file] = event.dataTransfer.files;
      if (file) this.detect(file);
    });
    byId("upload-file").addEventListener("change", (event) => {
      const [file] = event.target.files;
      if (file) this.detect(file);
    });
  }

  async detect(file) {
    if (!TYPES.includes(file.type)) {
      setState(this.stateNode, `${file.name} is not a JPEG, PNG or WebP image.`, { error: true });
      return;
    }
    setState(this.stateNode, `Detecting on ${file.name}…`);
    await reporting(this.stateNode, async () => {
      const options = { body: file, contentType: file.type };
      const answer = await (await request("POST", "v1/detect", options)).json();
      const annotated = await (await request("POST", "v1/detect", { ...options, accept: "image/jpeg" })).blob();
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = URL.createObjectURL(annotated);
      const image = byId("upload-image");
      image.src = this.objectUrl;
      image.hidden = false;
      const json = byId("upload-json");
      json.textContent = JSON.stringify(answer, null, 2);
      json.hidden = false;
      const total = Object.values(answer.counts).reduce((sum, count) => sum + count, 0);
      setState(this.stateNode, `${file.name}: ${total} item(s), ${answer.image.width}×${answer.image.height}.`);
    });
  }
}
