// My orders: statuses and unread counts, live from the notifications feed (/ws/notifications/).
// The feed has no replay: after a reconnect the list is reloaded over REST.

import { api } from "./api.js";
import { boot, el, setStatusBadge } from "./dom.js";
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

function upsertOrder(order) {
  let row = rowFor(order.id);
  if (!row) {
    const role = order.buyer_id === me.id ? "buyer" : "creator";
    const table = document.querySelector(`table[data-role="${role}"]`);
    row = el(
      "tr",
      { dataset: { orderId: String(order.id) } },
      el("td", {}, el("a", { href: `/orders/${order.id}/`, text: `#${order.id} ${order.item_title}` }), " ", el("span", { class: "tag dispute-tag", text: "Disputed", hidden: true })),
      el("td", { text: `€${order.final_price}` }),
      el("td", {}, el("span", { class: "status" })),
      el("td", {}, el("span", { class: "unread", dataset: { count: "0" }, text: "0" })),
    );
    table.tBodies[0].prepend(row);
    table.parentElement.querySelector(".empty").hidden = true;
  }
  setStatusBadge(row.querySelector(".status"), order.status);
}

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
      break;
    }
    default:
      break;
  }
}

new LiveSocket("/ws/notifications/", { onFrame }).start();
