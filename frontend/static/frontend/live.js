// One live socket with a visible state, automatic reconnects with exponential backoff, and a
// resume hook: `query()` is asked for the URL parameters (e.g. after_seq) on every (re)connect.

const LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline: reconnecting when the network is back…",
  signedout: "Signed out. Sign in again to go live.",
  refused: "This live room is not available to you.",
};

const NO_RETRY = new Set([4401, 4403, 4404]);
const PING_EVERY_MS = 15000;
const SILENCE_LIMIT_MS = 45000;
const MAX_DELAY_MS = 15000;

export class LiveSocket {
  constructor(path, { query = () => ({}), onFrame = () => {}, onState = () => {}, stateNode } = {}) {
    this.path = path;
    this.query = query;
    this.onFrame = onFrame;
    this.onState = onState;
    this.stateNode = stateNode === undefined ? document.getElementById("conn") : stateNode;
    this.ws = null;
    this.attempts = 0;
    this.timer = null;
    this.pinger = null;
    this.stopped = false;
    this.state = "";
    this.lastFrameAt = 0;
    window.addEventListener("offline", () => this.wentOffline());
    window.addEventListener("online", () => this.cameOnline());
    window.addEventListener("pagehide", () => this.stop());
  }

  start() {
    this.connect();
    return this;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.state === "live";
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(this.query() || {})) {
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    const qs = params.toString();
    return `${scheme}//${location.host}${this.path}${qs ? `?${qs}` : ""}`;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    if (this.stateNode) {
      this.stateNode.dataset.state = state;
      this.stateNode.textContent = LABELS[state] || state;
    }
    this.onState(state);
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.setState("offline");
      return;
    }
    this.setState(this.attempts === 0 && !this.everOpened ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      if (this.closeWhenOpen) {
        this.closeWhenOpen = false;
        this.drop(ws);
        return;
      }
      this.lastFrameAt = Date.now();
      this.startPinging();
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (frame && frame.type === "hello") {
        this.attempts = 0;
        this.everOpened = true;
        this.setState("live");
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.closed(event.code);
    };
  }

  // Forget a socket without waiting for its close handshake (the network may be gone).
  drop(ws) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, "client closing");
  }

  closed(code) {
    this.stopPinging();
    this.ws = null;
    if (this.stopped) return;
    if (code === 4401) {
      this.setState("signedout");
      return;
    }
    if (NO_RETRY.has(code)) {
      this.setState("refused");
      return;
    }
    if (navigator.onLine === false) {
      this.setState("offline");
      return;
    }
    this.setState("reconnecting");
    const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  wentOffline() {
    const ws = this.ws;
    if (ws === null) {
      clearTimeout(this.timer);
      if (!this.stopped && this.state !== "signedout" && this.state !== "refused") {
        this.setState("offline");
      }
      return;
    }
    if (ws.readyState === WebSocket.CONNECTING) {
      this.closeWhenOpen = true;
      return;
    }
    this.drop(ws);
    this.closed(1006);
  }

  cameOnline() {
    if (this.stopped || this.state === "signedout" || this.state === "refused") return;
    if (this.ws === null) {
      this.attempts = 0;
      this.connect();
    }
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  startPinging() {
    this.stopPinging();
    this.pinger = setInterval(() => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) {
        const ws = this.ws;
        this.drop(ws);
        this.closed(1006);
        return;
      }
      this.ws.send(JSON.stringify({ type: "ping" }));
    }, PING_EVERY_MS);
  }

  stopPinging() {
    clearInterval(this.pinger);
    this.pinger = null;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopPinging();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.onopen = () => ws.close(1000);
        ws.onmessage = ws.onclose = null;
      } else {
        this.drop(ws);
      }
    }
  }
}
