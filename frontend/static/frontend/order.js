// The order workspace: rendered from the data in the page (no API waterfall), then kept live
// by the order room (ws /ws/orders/{id}/), resuming with ?after_seq=<last seq shown>.

import { api, errorText } from "./api.js";
import { Chat } from "./chat.js";
import { Deliveries } from "./deliveries.js";
import {
  DISPUTE_STATUS_LABELS,
  OUTCOME_LABELS,
  boot,
  el,
  fmtTime,
  setStatusBadge,
  showError,
  statusLabel,
} from "./dom.js";
import { eventWhat, renderDeadline } from "./deadline.js";
import { LiveSocket } from "./live.js";
import { startStripePayment } from "./stripe.js";

const MOVE_LABELS = {
  "PENDING>IN_PROGRESS": "Accept order",
  "PENDING>CANCELLED": "Cancel order",
  "IN_PROGRESS>DELIVERED": "Deliver",
  "IN_PROGRESS>CANCELLED": "Cancel order",
  "DELIVERED>COMPLETED": "Accept delivery",
  "DELIVERED>IN_PROGRESS": "Ask for revision",
};
const OPEN_FOR_MESSAGES = new Set(["PENDING", "IN_PROGRESS", "DELIVERED"]);
const DISPUTABLE = new Set(["IN_PROGRESS", "DELIVERED", "COMPLETED"]);

const B = boot();
const me = B.me;
let order = B.order;
let payment = B.payment;
let review = B.review;
const disputes = new Map((B.disputes || []).map((d) => [d.id, d]));
const isParty = me.role === "buyer" || me.role === "creator";

const chat = new Chat({
  me,
  users: B.users,
  uploadTo: isParty ? B.order.id : null,
  canRead: () => isParty,
  canPost: () => isParty && OPEN_FOR_MESSAGES.has(order.status),
  loadOlder: async (before) => {
    const result = await api("GET", `/api/orders/${order.id}/messages?before=${before}&limit=50`);
    return result.ok ? result.data : null;
  },
});

const deliveries = new Deliveries({ me, getOrder: () => order, onOrder: (next) => (next ? applyOrder(next) : refreshOrder()), initial: B.deliveries });

// --- Order, status and actions ------------------------------------------------------------

function applyOrder(next, { force = false } = {}) {
  if (!next) return;
  if (!force && typeof next.last_seq === "number" && next.last_seq < order.last_seq) return;
  order = { ...order, ...next };
  renderOrder();
}

function openDispute() {
  for (const dispute of disputes.values()) if (dispute.status !== "CLOSED") return dispute;
  return null;
}

function renderOrder() {
  setStatusBadge(document.getElementById("status"), order.status);
  renderDeadline(order, me.role);
  renderActions();
  renderPayment();
  renderReview();
  renderDispute();
  deliveries.render();
  chat.refreshCompose();
}

function renderActions() {
  const box = document.getElementById("actions");
  const hint = document.getElementById("actions-hint");
  box.replaceChildren();
  const hints = [];
  const disputeOpen = openDispute() !== null && me.role !== "admin";
  for (const to of order.allowed_moves || []) {
    const key = `${order.status}>${to}`;
    if (deliveries.handles(key)) continue; // answered on the delivery's card
    const button = el("button", {
      type: "button",
      class: to === "CANCELLED" ? "danger" : "",
      dataset: { move: to },
      text: MOVE_LABELS[key] || `Move to ${statusLabel(to)}`,
      onclick: () => move(to),
    });
    if (key === "PENDING>IN_PROGRESS" && !order.is_paid) {
      button.disabled = true;
      hints.push("The buyer has to pay before the order can be accepted.");
    }
    if (disputeOpen && (to === "COMPLETED" || to === "CANCELLED")) {
      button.disabled = true;
      hints.push("A dispute is open: an admin decides how this order ends.");
    }
    box.append(button);
  }
  if (order.status === "PENDING" && !order.is_paid && me.role === "creator") {
    hints.push("The buyer has to pay before you can accept the order.");
  }
  if (!box.children.length) {
    box.append(el("p", { class: "hint", text: "Nothing for you to do on this order right now." }));
  }
  hint.textContent = hints.join(" ");
  hint.hidden = hints.length === 0;
}

async function move(to) {
  const error = document.getElementById("actions-error");
  const note = document.getElementById("move-note");
  showError(error, "");
  for (const button of document.querySelectorAll("#actions button")) button.disabled = true;
  const result = await api("PATCH", `/api/orders/${order.id}/status`, {
    status: to,
    note: note.value.trim(),
  });
  if (result.ok) {
    note.value = "";
    applyOrder(result.data);
  } else {
    showError(error, errorText(result));
    renderActions();
  }
}

// --- Timeline of moves ----------------------------------------------------------------------

function addEvent(event) {
  const list = document.getElementById("timeline");
  const li = el(
    "li",
    { dataset: { seq: String(event.seq) } },
    el("span", {
      class: "what",
      text: eventWhat(event, statusLabel),
    }),
    " by ",
    el("span", { class: "who", text: event.actor_username }),
    " ",
    el("time", { datetime: event.created_at, text: fmtTime(event.created_at) }),
    event.note ? el("q", { class: "note", text: event.note }) : null,
  );
  const after = Array.from(list.children).find((node) => Number(node.dataset.seq) > event.seq);
  list.insertBefore(li, after || null);
}

// --- Payment --------------------------------------------------------------------------------

function renderPayment() {
  const box = document.getElementById("payment");
  box.replaceChildren();
  const price = `€${order.final_price}`;
  if (order.is_paid) {
    const simulated = payment ? payment.simulated : order.payments_simulated;
    box.append(
      el("p", { class: "paid", "data-testid": "paid" }, `Paid: ${price}`, simulated ? " (simulated payment)" : ""),
    );
    if (payment && payment.refunded_amount && payment.refunded_amount !== "0.00") {
      box.append(el("p", { text: `Refunded: €${payment.refunded_amount}` }));
    }
    return;
  }
  if (payment && payment.status === "REFUNDED") {
    box.append(el("p", { text: `Refunded: €${payment.refunded_amount}` }));
    return;
  }
  if (order.status !== "PENDING") {
    box.append(el("p", { text: order.status === "CANCELLED" ? "Not paid (the order was cancelled)." : "Not paid." }));
    return;
  }
  if (me.role !== "buyer") {
    box.append(el("p", { text: `Waiting for the buyer to pay ${price}.` }));
    return;
  }
  const error = el("p", { class: "error", role: "alert", hidden: true });
  if (order.payments_simulated) {
    box.append(
      el("p", { class: "notice", text: "This server uses simulated payments: no card is charged and no money moves." }),
      el("button", { type: "button", id: "pay-simulated", text: `Simulated payment: pay ${price}`, onclick: paySimulated }),
      error,
    );
  } else {
    const mount = el("div", { id: "payment-element" });
    box.append(
      el("p", { text: `Pay ${price} by card. Card details go straight to Stripe.` }),
      el("button", {
        type: "button",
        id: "pay-card",
        text: `Pay ${price}`,
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          await startStripePayment({ orderId: order.id, mount, error, onPaid: () => applyPaid(null) });
        },
      }),
      mount,
      error,
    );
  }

  async function paySimulated(event) {
    event.currentTarget.disabled = true;
    showError(error, "");
    const result = await api("POST", `/api/orders/${order.id}/payment`);
    if (result.ok && result.data.status === "SUCCEEDED") {
      applyPaid(result.data);
    } else {
      showError(error, result.ok ? `Payment ${result.data.status.toLowerCase()}.` : errorText(result));
      event.target.disabled = false;
    }
  }
}

// Paying changes what the creator may do (accepting needs payment): reload the order's moves.
function applyPaid(next) {
  if (next) payment = next;
  order = { ...order, is_paid: true };
  renderOrder();
  refreshOrder();
}

// --- Review ---------------------------------------------------------------------------------

function renderReview() {
  const section = document.getElementById("review-box");
  const box = document.getElementById("review");
  section.hidden = !(review || order.status === "COMPLETED");
  if (review) {
    box.replaceChildren();
    box.append(
      ...[
        el("p", { class: "stars", "data-testid": "review-score", text: `${"★".repeat(review.score)}${"☆".repeat(5 - review.score)} ${review.score}/5` }),
        review.comment ? el("blockquote", { class: "review-text", text: review.comment }) : null,
        el("p", { class: "meta", text: `by ${review.author_username}` }),
      ].filter(Boolean),
    );
    return;
  }
  // The form is on screen already: keep it, and what the buyer has typed into it, when a live
  // update (a payout, a read mark) re-renders the order.
  if (order.status === "COMPLETED" && me.role === "buyer" && box.querySelector("#review-form")) return;
  box.replaceChildren();
  if (order.status !== "COMPLETED") return;
  if (me.role !== "buyer") {
    box.append(el("p", { text: "The buyer has not left a review yet." }));
    return;
  }
  const score = el(
    "select",
    { id: "review-score", name: "score", required: true },
    ...[5, 4, 3, 2, 1].map((n) => el("option", { value: String(n), text: `${n} of 5` })),
  );
  const comment = el("textarea", { id: "review-comment", name: "comment", rows: "3", maxlength: "2000" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const form = el(
    "form",
    { class: "stack", id: "review-form" },
    el("label", { for: "review-score", text: "Score" }),
    score,
    el("label", { for: "review-comment", text: "Comment (optional)" }),
    comment,
    error,
    el("button", { type: "submit", text: "Submit review" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    const result = await api("POST", "/api/reviews", {
      order_id: order.id,
      score: Number(score.value),
      comment: comment.value.trim(),
    });
    if (result.ok) {
      review = result.data;
      renderReview();
    } else {
      showError(error, errorText(result));
      form.querySelector("button").disabled = false;
    }
  });
  box.append(form);
}

// --- Dispute --------------------------------------------------------------------------------

function renderDispute() {
  const box = document.getElementById("dispute");
  box.replaceChildren();
  const list = Array.from(disputes.values()).sort((a, b) => b.id - a.id);
  for (const dispute of list) {
    box.append(
      el(
        "div",
        { class: "dispute-summary", dataset: { disputeId: String(dispute.id) } },
        el(
          "p",
          {},
          `Dispute #${dispute.id}: `,
          el("span", { class: "status", dataset: { status: dispute.status }, text: DISPUTE_STATUS_LABELS[dispute.status] || dispute.status }),
          dispute.outcome ? ` · ${OUTCOME_LABELS[dispute.outcome] || dispute.outcome}` : "",
          dispute.refund_amount ? ` (€${dispute.refund_amount})` : "",
        ),
        dispute.resolution ? el("p", { class: "resolution", text: dispute.resolution }) : null,
        el("a", { href: `/disputes/${dispute.id}/`, text: "Open the dispute room" }),
      ),
    );
  }
  if (!isParty || openDispute() || !DISPUTABLE.has(order.status)) {
    if (!list.length) box.append(el("p", { text: "No dispute on this order." }));
    return;
  }
  const reason = el("textarea", { id: "dispute-reason", rows: "3", minlength: "10", maxlength: "500", required: true });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const form = el(
    "form",
    { class: "stack", id: "dispute-form" },
    el("label", { for: "dispute-reason", text: "Something wrong? Describe the problem (10 to 500 characters)" }),
    reason,
    error,
    el("button", { type: "submit", class: "danger", text: "Open a dispute" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (text.length < 10) {
      showError(error, "Please describe the problem in at least 10 characters.");
      return;
    }
    form.querySelector("button").disabled = true;
    const result = await api("POST", "/api/disputes", { order_id: order.id, reason: text });
    if (result.ok) {
      disputes.set(result.data.id, result.data);
      renderOrder();
    } else {
      showError(error, errorText(result));
      form.querySelector("button").disabled = false;
    }
  });
  box.append(form);
}

// --- Live -----------------------------------------------------------------------------------

function onFrame(frame) {
  if (chat.handle(frame)) return;
  switch (frame.type) {
    case "hello":
      applyOrder(frame.order, { force: true });
      break;
    case "order.status":
    case "order.created":
    case "order.late":
    case "order.reminder":
      if (frame.event && chat.accept(frame.event.seq)) addEvent(frame.event);
      applyOrder(frame.order);
      if (frame.event && frame.event.from_status === "DELIVERED" && frame.event.to_status !== "DELIVERED") {
        deliveries.refresh();
      }
      break;
    case "delivery.new":
      if (chat.accept(frame.seq)) deliveries.add(frame.delivery);
      break;
    case "payment.succeeded":
      applyPaid(frame.payment);
      break;
    case "payment.failed":
    case "payment.refunded":
      payment = frame.payment;
      refreshOrder();
      break;
    case "review.new":
      review = frame.review;
      renderReview();
      break;
    case "dispute.opened":
    case "dispute.status":
    case "dispute.closed":
      if (frame.dispute) disputes.set(frame.dispute.id, frame.dispute);
      if (frame.type === "dispute.closed") refreshOrder();
      else renderOrder();
      break;
    default:
      break; // types this page does not know are ignored, as the protocol asks
  }
}

async function refreshOrder() {
  const result = await api("GET", `/api/orders/${order.id}`);
  if (result.ok) applyOrder(result.data);
  else renderOrder();
}

chat.load(B.messages, {
  hasMore: B.has_more,
  lastSeq: order.last_seq,
  readMarks: B.read_marks,
});
for (const event of B.events) {
  chat.accept(event.seq);
  addEvent(event);
}
renderOrder();
chat.socket = new LiveSocket(`/ws/orders/${order.id}/`, {
  query: () => ({ after_seq: chat.lastSeq }),
  onFrame,
  onState: (state) => {
    if (state !== "live") chat.typingNode.textContent = "";
  },
}).start();
