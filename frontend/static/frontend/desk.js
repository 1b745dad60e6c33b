// The admin mediation desk: the live queue of open disputes from ws /ws/admin/disputes/.

import { DISPUTE_STATUS_LABELS, el, fmtTime } from "./dom.js";
import { LiveSocket } from "./live.js";

const body = document.querySelector("#queue tbody");
const empty = document.getElementById("queue-empty");
const rows = new Map();

function row(dispute, fresh) {
  return el(
    "tr",
    { dataset: { disputeId: String(dispute.id) }, class: fresh ? "fresh" : "" },
    el(
      "td",
      {},
      `#${dispute.id} on order #${dispute.order_id}`,
      el("br"),
      el("time", { datetime: dispute.created_at, text: fmtTime(dispute.created_at) }),
      // Flagged by the worker: open with no admin for DISPUTE_ADMIN_SLA_HOURS.
      dispute.sla_flagged_at ? el("br") : null,
      dispute.sla_flagged_at ? el("span", { class: "sla", text: "Waiting too long for an admin" }) : null,
    ),
    el("td", { dir: "auto", text: dispute.created_by_username }),
    el("td", { class: "reason", dir: "auto", text: dispute.reason }),
    el("td", {}, el("span", { class: "status", dataset: { status: dispute.status }, text: DISPUTE_STATUS_LABELS[dispute.status] || dispute.status })),
    el("td", {}, el("a", { class: "button", href: `/disputes/${dispute.id}/`, "aria-label": `Join dispute #${dispute.id}`, text: "Join" })),
  );
}

function upsert(dispute, fresh = false) {
  const old = rows.get(dispute.id);
  if (dispute.status === "CLOSED") {
    if (old) old.remove();
    rows.delete(dispute.id);
  } else {
    const next = row(dispute, fresh || (old && old.classList.contains("fresh")));
    if (old) old.replaceWith(next);
    else {
      const after = Array.from(body.children).find((tr) => Number(tr.dataset.disputeId) > dispute.id);
      body.insertBefore(next, after || null);
    }
    rows.set(dispute.id, next);
  }
  empty.hidden = rows.size > 0;
}

new LiveSocket("/ws/admin/disputes/", {
  onFrame(frame) {
    switch (frame.type) {
      case "hello":
        body.replaceChildren();
        rows.clear();
        for (const dispute of frame.open || []) upsert(dispute);
        empty.hidden = rows.size > 0;
        break;
      case "dispute.opened":
        upsert(frame.dispute, true);
        break;
      case "dispute.updated":
      case "dispute.status":
      case "dispute.closed":
        upsert(frame.dispute);
        break;
      default:
        break;
    }
  },
}).start();
