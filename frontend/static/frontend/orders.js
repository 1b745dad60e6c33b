// My orders: statuses and unread counts, live from the notifications feed (/ws/notifications/).
// The feed has no replay: after a reconnect the list is reloaded over REST.

import { api } from "./api.js";
import { boot, el, fmtMoney, formatMoneyNodes, setStatusBadge } from "./dom.js";
import { LiveSocket } from "./live.js";

const me = boot().me;
const lastMessageSeq = new Map();
let hellos = 0;

function rowFor(orderId) {
  return document.querySelector(`tr[data-order-id="${orderId}"]`);
}

function setUnread(orderId, count) {
  const row = rowFor(orderId);
  if (!row) return;
  const badge = row.querySelector(".unread");
  badge.dataset.count = String(count);
  badge.textContent = String(count);
  badge.setAttribute("aria-label", `${count} unread`);
}

function unreadOf(orderId) {
  const row = rowFor(orderId);
  return row ? Number(row.querySelector(".unread").dataset.count) : 0;
}

// Whose turn it is, from a row's role and the order: the same rules as the server's waiting_on.
function waitingOn(role, order) {
  if (order.open_dispute_id) return "";
  if (role === "buyer") {
    if (order.status === "PENDING" && !order.is_paid) return "Pay";
    if (order.status === "DELIVERED") return "Check the delivery";
  } else {
    if (order.status === "PENDING" && order.is_paid) return "Accept or decline";
    if (order.status === "IN_PROGRESS") return "Deliver";
  }
  return "";
}

function fmtDate(iso) {
  return new Date(iso).toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" });
}

function upsertOrder(order) {
  let row = rowFor(order.id);
  const role = order.buyer_id === me.id ? "buyer" : "creator";
  if (!row) {
    const table = document.querySelector(`table[data-role="${role}"]`);
    row = el(
      "tr",
      { dataset: { orderId: String(order.id), created: String(Date.parse(order.created_at) / 1000) } },
      el("td", {}, el("a", { href: `/orders/${order.id}/` }, `#${order.id} `, el("bdi", { text: order.item_title })), " ", el("span", { class: "tag dispute-tag", text: "Disputed", hidden: true })),
      el("td", { class: "other" }, el("span", { class: "other-role", text: role === "buyer" ? "Creator" : "Buyer" })),
      el("td", { class: "dates" }, el("time", { class: "placed", datetime: order.created_at, text: fmtDate(order.created_at) }), el("br"), el("span", { class: "meta" }, "updated ", el("time", { class: "updated" }))),
      el("td", { text: fmtMoney(order.final_price) }),
      el("td", {}, el("span", { class: "status" }), " ", el("span", { class: "tag waiting-tag", hidden: true }, "Waiting on you: ", el("span", { class: "waiting-what" }))),
      el("td", {}, el("span", { class: "unread", dataset: { count: "0" }, text: "0" })),
    );
    table.tBodies[0].prepend(row);
    table.closest("section").hidden = false;
    document.getElementById("no-orders").hidden = true;
    document.getElementById("list-controls").hidden = false;
    document.getElementById("waiting-summary").hidden = false;
  }
  setStatusBadge(row.querySelector(".status"), order.status);
  if (order.updated_at) {
    row.dataset.updated = String(Date.parse(order.updated_at) / 1000);
    const updated = row.querySelector("time.updated");
    updated.dateTime = order.updated_at;
    updated.textContent = fmtDate(order.updated_at);
  }
  if ("open_dispute_id" in order) row.querySelector(".dispute-tag").hidden = !order.open_dispute_id;
  const waiting = waitingOn(role, order);
  row.dataset.waiting = waiting ? "1" : "0";
  row.querySelector(".waiting-what").textContent = waiting;
  row.querySelector(".waiting-tag").hidden = !waiting;
  arrange();
}

// --- Sorting and the "waiting on me" filter (over the rows on the page: no extra queries) ------

// Ties (orders placed in the same instant) go by order number.
const KEYS = {
  newest: (row) => [-Number(row.dataset.created), -Number(row.dataset.orderId)],
  oldest: (row) => [Number(row.dataset.created), Number(row.dataset.orderId)],
  updated: (row) => [-Number(row.dataset.updated || row.dataset.created), -Number(row.dataset.orderId)],
  waiting: (row) => [-Number(row.dataset.waiting), -Number(row.dataset.created), -Number(row.dataset.orderId)],
};

function compare(a, b) {
  const [x, y] = [[].concat(a), [].concat(b)];
  for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

function arrange() {
  const sort = document.getElementById("sort").value;
  const onlyWaiting = document.getElementById("only-waiting").checked;
  let waitingCount = 0;
  for (const table of document.querySelectorAll("table.orders")) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).sort((a, b) => compare(KEYS[sort](a), KEYS[sort](b)));
    let shown = 0;
    for (const row of rows) {
      body.append(row);
      const waiting = row.dataset.waiting === "1";
      waitingCount += waiting ? 1 : 0;
      row.hidden = onlyWaiting && !waiting;
      shown += row.hidden ? 0 : 1;
    }
    table.nextElementSibling.hidden = !(rows.length && shown === 0);
  }
  document.getElementById("waiting-count").textContent = String(waitingCount);
}

document.getElementById("sort").addEventListener("change", arrange);
document.getElementById("only-waiting").addEventListener("change", arrange);
formatMoneyNodes();
// Dates in the user's locale, the same way live rows write them.
for (const time of document.querySelectorAll("table.orders time[datetime]")) {
  time.textContent = fmtDate(time.dateTime);
}
arrange();

async function reload() {
  const result = await api("GET", "/api/orders?page_size=100");
  if (result.ok) for (const order of result.data.results) upsertOrder(order);
}

function onFrame(frame) {
  switch (frame.type) {
    case "hello": {
      hellos += 1;
      for (const row of document.querySelectorAll("tr[data-order-id]")) {
        setUnread(row.dataset.orderId, 0);
      }
      for (const [orderId, count] of Object.entries(frame.unread || {})) setUnread(orderId, count);
      if (hellos > 1) reload();
      break;
    }
    case "order.created":
    case "order.status":
      upsertOrder(frame.order);
      break;
    case "message.new": {
      const message = frame.message;
      lastMessageSeq.set(String(frame.order_id), message.seq);
      if (message.sender_id !== me.id) setUnread(frame.order_id, unreadOf(frame.order_id) + 1);
      break;
    }
    case "read":
      if (frame.user_id === me.id && frame.seq >= (lastMessageSeq.get(String(frame.order_id)) || 0)) {
        setUnread(frame.order_id, 0);
      }
      break;
    case "dispute.opened":
    case "dispute.status":
    case "dispute.closed": {
      const row = frame.dispute ? rowFor(frame.dispute.order_id) : null;
      if (row) row.querySelector(".dispute-tag").hidden = frame.dispute.status === "CLOSED";
      // Whose turn it is changes with a dispute: the order's own state says it.
      if (row) api("GET", `/api/orders/${frame.dispute.order_id}`).then((r) => r.ok && upsertOrder(r.data));
      break;
    }
    default:
      break;
  }
}

new LiveSocket("/ws/notifications/", { onFrame }).start();
