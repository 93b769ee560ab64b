// The live page: frames from a camera or a file go to WS /v1/stream; each result is drawn on
// the frame it answers, with counts (per zone too, at a location with zones), latency,
// frames/s and drops.
import { getJson } from "./api.js";
import { byId, element, reporting, setState } from "./dom.js";
import { cameras, FrameSource } from "./frame_source.js";
import { drawFrame } from "./draw.js";
import { fillLocations } from "./locations.js";
import { labelColor } from "./palette.js";
import { StreamSession } from "./stream.js";

const MIN_FRAME_INTERVAL_MS = 1000 / 30; // no faster than a camera delivers frames
const FPS_WINDOW_MS = 5000;

export class LivePage {
  constructor() {
    this.canvas = byId("live-canvas");
    this.stateNode = byId("live-state");
    this.source = new FrameSource(byId("live-video"));
    this.session = null;
    this.capturing = false;
    this.lastSentAt = 0;
    this.answeredAt = [];
    this.answered = 0;
    this.minScore = null;
    byId("start-camera").addEventListener("click", () => this.start(() => this.startCamera()));
    byId("source-file").addEventListener("change", (event) => {
      const [file] = event.target.files;
      if (file) this.start(() => this.source.startFile(file));
    });
    byId("stop-source").addEventListener("click", () => this.stop("Stopped."));
    byId("live-location").addEventListener("change", () => this.restartSession());
    const slider = byId("min-score");
    slider.addEventListener("input", () => {
      this.minScore = Number(slider.value);
      byId("min-score-value").textContent = this.minScore.toFixed(2);
      this.session?.configure(this.minScore);
    });
    window.addEventListener("medinv:keychange", () => {
      this.restartSession();
      this.show(); // the locations this key may read
    });
  }

  async show() {
    await reporting(this.stateNode, async () => {
      const { locations } = await getJson("v1/locations");
      fillLocations(byId("live-location"), locations);
    });
  }

  async startCamera() {
    await this.source.startCamera(byId("camera-select").value);
    const select = byId("camera-select");
    if (select.options.length <= 1) {
      for (const camera of await cameras()) {
        select.append(element("option", { text: camera.label || "Camera", attrs: { value: camera.deviceId } }));
      }
    }
  }

  async start(startSource) {
    this.stop();
    try {
      await startSource();
    } catch (error) {
      setState(this.stateNode, `The source cannot be used: ${error.message}`, { error: true });
      return;
    }
    byId("stop-source").disabled = false;
    this.openSession();
  }

  openSession() {
    const location = byId("live-location").value || null;
    this.session = new StreamSession(
      { location, minScore: this.minScore },
      {
        ready: () => this.pump(),
        result: (message, frame) => this.onResult(message, frame),
        frameError: (message, frame) => this.onFrameError(message, frame),
        state: (text, options) => setState(this.stateNode, text, options),
        ended: (text) => this.stop(text, { error: true }),
      },
    );
    this.session.open();
  }

  restartSession() {
    if (!this.session) return;
    this.session.stop();
    this.openSession(); // a session records at one location: another one is a new session
  }

  stop(text = "", options = {}) {
    this.session?.stop();
    this.session = null;
    this.source.stop();
    byId("stop-source").disabled = true;
    if (text) setState(this.stateNode, text, options);
  }

  /** Send the current picture whenever the window has room: the newest frame always wins. */
  async pump() {
    const session = this.session;
    if (this.capturing || !session?.canSend) return;
    const due = this.lastSentAt + MIN_FRAME_INTERVAL_MS - performance.now();
    const wait = this.source.ready ? due : MIN_FRAME_INTERVAL_MS; // a video still loading
    if (wait > 0) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = setTimeout(() => this.pump(), wait);
      return;
    }
    this.capturing = true;
    try {
      const { bitmap, jpeg } = await this.source.capture();
      if (session === this.session && session.canSend) {
        session.send(jpeg, { bitmap });
        this.lastSentAt = performance.now();
      } else {
        bitmap.close();
      }
    } catch (error) {
      setState(this.stateNode, `A frame could not be captured: ${error.message}`, { error: true });
      this.lastSentAt = performance.now(); // try the next one at the camera's pace
    } finally {
      this.capturing = false;
    }
    this.pump();
  }

  onResult(message, frame) {
    if (frame) {
      drawFrame(this.canvas, frame.bitmap, message.detections);
      frame.bitmap.close();
      listDetections(message.detections);
      showCounts(message.counts);
      showZones(message.zones);
      const now = performance.now();
      this.answeredAt = [...this.answeredAt.filter((t) => now - t < FPS_WINDOW_MS), now];
      this.answered += 1;
      byId("stat-latency").textContent = `${Math.round(now - frame.sentAt)} ms`;
      byId("stat-fps").textContent = framesPerSecond(this.answeredAt).toFixed(1);
      byId("stat-answered").textContent = String(this.answered);
    }
    byId("stat-service-latency").textContent = `${Math.round(message.latency_ms)} ms`;
    byId("stat-dropped").textContent = String(message.dropped);
    byId("stat-frame").textContent = String(message.frame);
    byId("stat-reconnects").textContent = String(this.session?.reconnects ?? 0);
    if (message.recorded) setState(this.stateNode, `Streaming; counts recorded (${message.recorded}).`);
    this.pump();
  }

  onFrameError(message, frame) {
    frame?.bitmap.close();
    setState(this.stateNode, `Frame ${message.frame}: ${message.message}`, { error: true });
    if (message.code === "rate_limited") {
      this.lastSentAt = performance.now() + 1000; // let the frame budget refill a little
    }
    this.pump();
  }
}

function framesPerSecond(times) {
  if (times.length < 2) return 0;
  return ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]);
}

function listDetections(detections) {
  byId("live-detections").replaceChildren(
    ...detections.map((d) =>
      element("li", {
        text: `${d.label} ${d.score.toFixed(2)} at ${d.box.map((v) => Math.round(v)).join(", ")}`,
        attrs: { "data-label": d.label, "data-box": JSON.stringify(d.box) },
      }),
    ),
  );
}

function showCounts(counts) {
  const rows = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, count]) =>
      element("tr", { attrs: { "data-label": label } }, [
        element("td", {}, [swatch(label), label]),
        element("td", { text: String(count), className: "num" }),
      ]),
    );
  byId("live-counts").tBodies[0].replaceChildren(...rows);
}

// With a location that has zones: each zone's counts on this frame, its expected items at 0
// included; hidden otherwise.
function showZones(zones) {
  const table = byId("live-zones");
  table.hidden = !zones;
  const rows = (zones ?? []).flatMap((zone) =>
    Object.entries(zone.counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, count]) =>
        element("tr", { attrs: { "data-zone": String(zone.id), "data-label": label } }, [
          element("td", { text: zone.name }),
          element("td", {}, [swatch(label), label]),
          element("td", { text: String(count), className: "num" }),
        ]),
      ),
  );
  table.tBodies[0].replaceChildren(...rows);
}

function swatch(label) {
  const node = element("span", { className: "swatch", attrs: { "aria-hidden": "true" } });
  node.style.backgroundColor = labelColor(label); // CSSOM: allowed by the console's CSP
  return node;
}
