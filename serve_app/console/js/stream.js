// One stream session over WS /v1/stream: at most WINDOW frames unanswered (the service never
// has to drop one, and each result is matched to the frame it answers), reconnecting with
// session resume when the socket drops.
import { explain, socketProtocols, socketUrl } from "./api.js";

export const WINDOW = 2;
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000, 10000];
const POLICY_VIOLATION = 1008; // a wrong key, scope or parameter: reconnecting cannot help
const NORMAL_CLOSURE = 1000;

export class StreamSession {
  /**
   * `handlers`: result(message, frame), frameError(message, frame), state(text, {error}), and
   * ended(text) when the service refused the stream for good.
   * `frame` is what `send` was given, with `sentAt` (performance.now()).
   */
  constructor({ location, minScore }, handlers) {
    // A browser cannot read the handshake's X-Stream-Session: it picks the id itself.
    this.sessionId = crypto.randomUUID().replaceAll("-", "");
    this.location = location;
    this.minScore = minScore;
    this.handlers = handlers;
    this.reconnects = 0;
    this.attempt = 0;
    this.stopped = false;
    this.lastError = null;
    this.socket = null;
    this.resetSocketState();
  }

  resetSocketState() {
    this.outstanding = []; // frames sent on this socket, oldest first, each with its `seq`
    this.sent = 0;
    this.frameBase = null; // the service's number for this socket's first frame
  }

  open() {
    const url = socketUrl("v1/stream");
    url.searchParams.set("session_id", this.sessionId);
    if (this.location) url.searchParams.set("location", this.location);
    if (this.minScore !== null) url.searchParams.set("min_score", String(this.minScore));
    const socket = new WebSocket(url, socketProtocols());
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.lastError = null;
      this.resetSocketState();
      this.handlers.state(this.reconnects ? "Reconnected; resuming the session." : "Streaming.");
      this.handlers.ready();
    });
    socket.addEventListener("message", (event) => this.onMessage(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => this.onClose(socket, event));
  }

  get canSend() {
    return this.socket?.readyState === WebSocket.OPEN && this.outstanding.length < WINDOW;
  }

  send(data, frame) {
    this.outstanding.push({ ...frame, seq: this.sent, sentAt: performance.now() });
    this.sent += 1;
    this.socket.send(data);
  }

  configure(minScore) {
    this.minScore = minScore;
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "config", min_score: minScore }));
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.close(NORMAL_CLOSURE);
    this.release();
  }

  onMessage(message) {
    if (message.frame !== undefined && message.frame !== null && this.frameBase === null && this.reconnects) {
      // A new session would number this socket's first frame 0.
      this.handlers.state(message.frame > 0 ? `Session resumed at frame ${message.frame}.` : "Reconnected as a new session.");
    }
    if (message.type === "result") {
      this.handlers.result(message, this.take(message.frame));
    } else if (message.type === "error" && message.frame !== null) {
      this.handlers.frameError(message, this.take(message.frame));
    } else if (message.type === "error") {
      this.lastError = message; // a refusal of the whole stream; the close follows
      this.handlers.state(explain(0, message.code, message.message), { error: true });
    }
  }

  /** The sent frame the service numbered `number`; older unanswered ones were dropped. */
  take(number) {
    if (this.outstanding.length === 0) return null;
    // Frames are numbered in the order they arrive; a resumed session goes on numbering.
    this.frameBase ??= number - this.outstanding[0].seq;
    const seq = number - this.frameBase;
    while (this.outstanding.length && this.outstanding[0].seq < seq) {
      this.outstanding.shift().bitmap?.close();
    }
    return this.outstanding[0]?.seq === seq ? this.outstanding.shift() : null;
  }

  release() {
    for (const frame of this.outstanding) frame.bitmap?.close();
    this.outstanding = [];
  }

  onClose(socket, event) {
    if (socket !== this.socket) return;
    this.release();
    if (this.stopped) return;
    if (event.code === POLICY_VIOLATION) {
      const error = this.lastError;
      this.handlers.ended(error ? explain(0, error.code, error.message) : "The service refused the stream.");
      return;
    }
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
    this.attempt += 1;
    this.reconnects += 1;
    this.handlers.state(`Connection lost (${event.code}); reconnecting in ${delay / 1000} s…`, { error: true });
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }
}
