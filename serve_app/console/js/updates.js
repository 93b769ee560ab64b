// WS /v1/inventory/updates: `counts` and `below_par` messages as they are recorded, reconnecting
// (and telling the page to catch up) when the socket drops.
import { explain, socketProtocols, socketUrl } from "./api.js";

const RECONNECT_DELAYS_MS = [1000, 2000, 5000, 10000];
const POLICY_VIOLATION = 1008;

export class InventoryUpdates {
  /** `handlers`: message(update), resubscribed() after a drop, state(text, {error}). */
  constructor(handlers) {
    this.handlers = handlers;
    this.attempt = 0;
    this.subscribedBefore = false;
    this.socket = null;
    this.lastError = null;
  }

  open() {
    this.close();
    const socket = new WebSocket(socketUrl("v1/inventory/updates"), socketProtocols());
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      const update = JSON.parse(event.data);
      if (update.type === "subscribed") {
        this.attempt = 0;
        this.handlers.state("Live updates: connected");
        if (this.subscribedBefore) this.handlers.resubscribed();
        this.subscribedBefore = true;
      } else if (update.type === "error") {
        this.lastError = update;
      } else {
        this.handlers.message(update);
      }
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      const reason = this.lastError ? explain(0, this.lastError.code, this.lastError.message) : `closed (${event.code})`;
      this.lastError = null;
      if (event.code === POLICY_VIOLATION) {
        this.handlers.state(`Live updates: ${reason}`, { error: true });
        return;
      }
      const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
      this.attempt += 1;
      this.handlers.state(`Live updates: ${reason}; reconnecting in ${delay / 1000} s…`, { error: true });
      this.timer = setTimeout(() => this.open(), delay);
    });
  }

  close() {
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
  }
}
