// The dispute room: the thread from ONE API call (GET /api/disputes/{id}), then live over
// ws /ws/disputes/{id}/ (same protocol as the order room, plus dispute.status / dispute.closed).

import { api, errorText } from "./api.js";
import { Chat } from "./chat.js";
import {
  DISPUTE_STATUS_LABELS,
  OUTCOME_LABELS,
  boot,
  cents,
  confirmDialog,
  fmtMoney,
  formatMoneyNodes,
  parseAmount,
  setStatusBadge,
  showError,
} from "./dom.js";
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
  closedReason: () =>
    dispute && dispute.status === "CLOSED"
      ? "The dispute is closed, so this thread takes no new messages. The outcome is shown above."
      : "Loading…",
});

function nextStep() {
  if (!dispute) return "";
  if (dispute.status === "CLOSED") return "Closed: the admin's decision is final and shown below.";
  if (me.role === "admin") return "Your turn: hear both sides, then close the dispute with an outcome.";
  if (dispute.status === "OPEN") return "Waiting for an admin to join. Explain the problem here meanwhile.";
  return "An admin is mediating. Answer their questions here; they decide how the order ends.";
}

function applyDispute(next) {
  if (!next) return;
  dispute = { ...(dispute || {}), ...next };
  setStatusBadge(document.getElementById("dispute-status"), dispute.status, DISPUTE_STATUS_LABELS);
  const outcome = document.getElementById("outcome");
  outcome.textContent = dispute.outcome
    ? `${OUTCOME_LABELS[dispute.outcome] || dispute.outcome}${dispute.refund_amount ? ` (${fmtMoney(dispute.refund_amount)})` : ""}`
    : "—";
  const closed = document.getElementById("dispute-closed");
  if (dispute.status === "CLOSED") {
    closed.textContent = `This dispute is closed. Outcome: ${outcome.textContent}. ${dispute.resolution ? `Resolution: ${dispute.resolution}` : ""}`.trim();
    closed.hidden = false;
  } else {
    closed.hidden = true;
  }
  document.getElementById("next-step-text").textContent = nextStep();
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
    if (outcome.value === "PARTIAL_REFUND") {
      // Typed in the user's locale ("20,00" or "20.00"); checked against the cap before sending.
      const amount = parseAmount(refund.value);
      const max = B.money && B.money.max_partial_refund;
      if (amount === null || cents(amount) <= 0) {
        showError(error, "Type the refund as an amount, for example 20.00 or 20,00.");
        refund.focus();
        return;
      }
      if (!max || cents(amount) > cents(max)) {
        showError(
          error,
          max
            ? `A partial refund can be at most ${fmtMoney(max)}. To give back everything that is left, choose “Refund the buyer in full”.`
            : "Nothing is left to refund in part.",
        );
        refund.focus();
        return;
      }
      body.refund_amount = amount;
    }
    const label = outcome.options[outcome.selectedIndex].text;
    const ok = await confirmDialog({
      title: "Close this dispute?",
      body: `Outcome: ${label}${body.refund_amount ? ` (${fmtMoney(body.refund_amount)})` : ""}. Both parties see it at once and it cannot be undone.`,
      confirm: "Yes, close the dispute",
    });
    if (!ok) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const result = await api("PATCH", `/api/disputes/${B.dispute_id}/close`, body);
    button.disabled = false;
    if (result.ok) applyDispute(result.data);
    else showError(error, errorText(result));
  });
}

async function start() {
  formatMoneyNodes();
  bindCloseForm();
  const result = await api("GET", `/api/disputes/${B.dispute_id}`);
  if (!result.ok) {
    showError(document.getElementById("chat-error"), errorText(result));
    return;
  }
  const { messages, ...rest } = result.data;
  applyDispute(rest);
  // The read marks come with the thread: "Read" survives a reload, as in the order room.
  chat.load(messages || [], { lastSeq: rest.last_seq || 0, readMarks: rest.read_marks || {} });
  chat.socket = new LiveSocket(`/ws/disputes/${B.dispute_id}/`, {
    query: () => ({ after_seq: chat.lastSeq }),
    onFrame,
  }).start();
}

start();
