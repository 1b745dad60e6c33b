// The dispute room: the thread from ONE API call (GET /api/disputes/{id}), then live over
// ws /ws/disputes/{id}/ (same protocol as the order room, plus dispute.status / dispute.closed).

import { api, errorText } from "./api.js";
import { Chat } from "./chat.js";
import { DISPUTE_STATUS_LABELS, OUTCOME_LABELS, boot, setStatusBadge, showError } from "./dom.js";
import { LiveSocket } from "./live.js";

const B = boot();
const me = B.me;
let dispute = null;

const chat = new Chat({
  me,
  users: B.users,
  canRead: () => true,
  canPost: () => dispute !== null && dispute.status !== "CLOSED",
  uploadTo: B.order_id, // evidence files
});

function applyDispute(next) {
  if (!next) return;
  dispute = { ...(dispute || {}), ...next };
  setStatusBadge(document.getElementById("dispute-status"), dispute.status, DISPUTE_STATUS_LABELS);
  const outcome = document.getElementById("outcome");
  outcome.textContent = dispute.outcome
    ? `${OUTCOME_LABELS[dispute.outcome] || dispute.outcome}${dispute.refund_amount ? ` (€${dispute.refund_amount})` : ""}`
    : "—";
  const closed = document.getElementById("dispute-closed");
  if (dispute.status === "CLOSED") {
    closed.textContent = `This dispute is closed. Outcome: ${outcome.textContent}. ${dispute.resolution ? `Resolution: ${dispute.resolution}` : ""}`.trim();
    closed.hidden = false;
  } else {
    closed.hidden = true;
  }
  const closeBox = document.getElementById("close-box");
  if (closeBox) closeBox.hidden = dispute.status === "CLOSED";
  chat.refreshCompose();
}

function onFrame(frame) {
  if (chat.handle(frame)) return;
  switch (frame.type) {
    case "hello":
      applyDispute(frame.dispute);
      break;
    case "dispute.status":
    case "dispute.closed":
    case "dispute.updated":
      applyDispute(frame.dispute);
      break;
    default:
      break;
  }
}

function bindCloseForm() {
  const form = document.getElementById("close-form");
  if (!form) return;
  const outcome = document.getElementById("close-outcome");
  const refundBox = document.getElementById("refund-box");
  const refund = document.getElementById("close-refund");
  const error = form.querySelector(".error");
  const syncRefund = () => {
    refundBox.hidden = outcome.value !== "PARTIAL_REFUND";
    refund.required = !refundBox.hidden;
  };
  outcome.addEventListener("change", syncRefund);
  syncRefund();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, "");
    const body = {
      outcome: outcome.value,
      resolution: document.getElementById("close-resolution").value.trim(),
    };
    if (outcome.value === "PARTIAL_REFUND") body.refund_amount = refund.value.trim();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const result = await api("PATCH", `/api/disputes/${B.dispute_id}/close`, body);
    button.disabled = false;
    if (result.ok) applyDispute(result.data);
    else showError(error, errorText(result));
  });
}

async function start() {
  bindCloseForm();
  const result = await api("GET", `/api/disputes/${B.dispute_id}`);
  if (!result.ok) {
    showError(document.getElementById("chat-error"), errorText(result));
    return;
  }
  const { messages, ...rest } = result.data;
  applyDispute(rest);
  chat.load(messages || [], { lastSeq: rest.last_seq || 0 });
  chat.socket = new LiveSocket(`/ws/disputes/${B.dispute_id}/`, {
    query: () => ({ after_seq: chat.lastSeq }),
    onFrame,
  }).start();
}

start();
