// Small DOM helpers. User data only ever goes in through textContent or attributes.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function boot() {
  const node = document.getElementById("boot");
  return node ? JSON.parse(node.textContent) : {};
}

export function showError(node, message) {
  if (!node) return;
  node.textContent = message || "";
  node.hidden = !message;
}

export const STATUS_LABELS = {
  PENDING: "Pending",
  IN_PROGRESS: "In progress",
  DELIVERED: "Delivered",
  COMPLETED: "Completed",
  CANCELLED: "Cancelled",
};

export const DISPUTE_STATUS_LABELS = { OPEN: "Open", UNDER_REVIEW: "Under review", CLOSED: "Closed" };

export const OUTCOME_LABELS = {
  REFUND_BUYER: "Refund the buyer in full",
  PARTIAL_REFUND: "Partial refund",
  RELEASE_TO_CREATOR: "Money released to the creator",
  RESUME: "Order resumed",
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

export function fmtTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

export function setStatusBadge(node, status, labels = STATUS_LABELS) {
  if (!node) return;
  node.dataset.status = status;
  node.textContent = labels[status] || status;
}

export function newClientId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; plain-http hosts other than localhost lack it.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- Money: shown in the user's locale, typed with the locale's decimal separator -------------

const LOCALE = (typeof navigator !== "undefined" && navigator.language) || "en-US";

// "450.00" (the API's decimal string) as "€450.00" / "450,00 €", as the user's locale writes it.
export function fmtMoney(amount, currency = "EUR") {
  const value = Number(amount);
  if (amount === null || amount === undefined || amount === "" || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(LOCALE, { style: "currency", currency }).format(value);
}

const DECIMAL_PART = "decimal"; // an Intl part type (not a frame: frame names are in events.py)

function localeDecimal() {
  const parts = new Intl.NumberFormat(LOCALE).formatToParts(1.5);
  const part = parts.find((p) => p.type === DECIMAL_PART);
  return part ? part.value : ".";
}

// A typed amount ("20,00", "1.234,5", "20.00", "€ 20") as the API's "20.00"; null if unreadable.
export function parseAmount(text) {
  let s = String(text || "").replace(/[\s\u00a0\u202f€$£']/g, "");
  if (!s) return null;
  const lastComma = s.lastIndexOf(",");
  const lastDot = s.lastIndexOf(".");
  let decimal = null;
  if (lastComma >= 0 && lastDot >= 0) decimal = lastComma > lastDot ? "," : ".";
  else if (lastComma >= 0 || lastDot >= 0) {
    const sep = lastComma >= 0 ? "," : ".";
    const tail = s.length - s.lastIndexOf(sep) - 1;
    const once = s.indexOf(sep) === s.lastIndexOf(sep);
    // "20,00" and "20,5" are decimals; "1,000" is a decimal only where "," is the decimal mark.
    if (once && (tail <= 2 || sep === localeDecimal())) decimal = sep;
  }
  if (decimal) {
    const group = decimal === "," ? "." : ",";
    s = s.split(group).join("").replace(decimal, ".");
  } else {
    s = s.replace(/[.,]/g, "");
  }
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  const [whole, frac = ""] = s.split(".");
  return `${String(Number(whole))}.${frac.padEnd(2, "0")}`;
}

// Decimal strings as integer cents (exact: no floating point on money).
export function cents(amount) {
  if (amount === null || amount === undefined || amount === "") return 0;
  const [whole, frac = ""] = String(amount).split(".");
  const sign = whole.startsWith("-") ? -1 : 1;
  return sign * (Math.abs(Number(whole)) * 100 + Number(frac.padEnd(2, "0").slice(0, 2)));
}

export function fromCents(value) {
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

// Server-rendered amounts (<span data-money="450.00">) in the user's locale.
export function formatMoneyNodes(root = document) {
  for (const node of root.querySelectorAll("[data-money]")) {
    node.textContent = fmtMoney(node.dataset.money);
  }
}

// --- Safe links in user text: http(s) only, built with DOM nodes, never parsed as HTML --------

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

export function linkified(text) {
  const parts = [];
  let last = 0;
  for (const match of String(text).matchAll(URL_RE)) {
    let raw = match[0];
    const trail = raw.match(/[.,;:!?)\]}]+$/);
    if (trail) raw = raw.slice(0, -trail[0].length);
    let url = null;
    try {
      url = new URL(raw);
    } catch (err) {
      url = null;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
    if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement("a");
    a.href = url.href;
    a.textContent = raw;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    parts.push(a);
    last = match.index + raw.length;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  return parts;
}

// --- Confirmation in a modal <dialog>: focus stays inside, and returns where it was ------------

// The page behind a modal dialog is inert, but Tab would still leave for the browser's own UI:
// keep it cycling through the dialog's controls.
function trapFocus(dialog) {
  if (dialog.dataset.trapped) return;
  dialog.dataset.trapped = "1";
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const controls = Array.from(dialog.querySelectorAll("button, [href], input, select, textarea")).filter(
      (node) => !node.disabled && node.offsetParent !== null,
    );
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });
}

export function confirmDialog({ title, body, confirm, danger = false }) {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return Promise.resolve(window.confirm(`${title}\n\n${body}`));
  }
  trapFocus(dialog);
  const opener = document.activeElement;
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-body").textContent = body;
  const ok = dialog.querySelector("#confirm-ok");
  ok.textContent = confirm;
  ok.className = danger ? "danger-solid" : "";
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        resolve(dialog.returnValue === "ok");
        if (opener && typeof opener.focus === "function" && opener.isConnected) opener.focus();
      },
      { once: true },
    );
    dialog.showModal();
    dialog.querySelector("#confirm-cancel").focus();
  });
}
