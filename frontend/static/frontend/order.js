// The order workspace: rendered from the data in the page (no API waterfall), then kept live
// by the order room (ws /ws/orders/{id}/), resuming with ?after_seq=<last seq shown>.

import { api, errorText } from "./api.js";
import { Chat } from "./chat.js";
import { Deliveries } from "./deliveries.js";
import {
  DISPUTE_STATUS_LABELS,
  OUTCOME_LABELS,
  boot,
  confirmDialog,
  el,
  fmtMoney,
  fmtTime,
  formatMoneyNodes,
  setStatusBadge,
  showError,
  statusLabel,
} from "./dom.js";
import { eventWhat, renderDeadline } from "./deadline.js";
import { LiveSocket } from "./live.js";
import { renderMoney } from "./money.js";
import { planFor, renderTracker } from "./order_state.js";
import { startStripePayment } from "./stripe.js";

const OPEN_FOR_MESSAGES = new Set(["PENDING", "IN_PROGRESS", "DELIVERED"]);
const DISPUTABLE = new Set(["IN_PROGRESS", "DELIVERED", "COMPLETED"]);

const B = boot();
const me = B.me;
let order = B.order;
let payment = B.payment;
let review = B.review;
const disputes = new Map((B.disputes || []).map((d) => [d.id, d]));
const isParty = me.role === "buyer" || me.role === "creator";
// The statuses the order has been in (from its timeline): the tracker's done steps.
const reached = new Set();

const chat = new Chat({
  me,
  users: B.users,
  uploadTo: isParty ? B.order.id : null,
  canRead: () => isParty,
  canPost: () => isParty && OPEN_FOR_MESSAGES.has(order.status),
  closedReason: () => {
    if (!isParty) return "Only the buyer and the creator write in this thread; admins talk to them in the dispute room.";
    if (order.status === "COMPLETED") return "The order is completed, so this thread is closed to new messages. Open a dispute if something is wrong.";
    if (order.status === "CANCELLED") return "The order was cancelled, so this thread is closed to new messages.";
    return "This thread is closed to new messages.";
  },
  // On a phone showing another panel, the Chat tab says something new arrived.
  onOthersMessage: () => {
    if (document.getElementById("workspace").dataset.view !== "chat") {
      document.getElementById("tab-chat-unread").hidden = false;
    }
  },
  loadOlder: async (before) => {
    const result = await api("GET", `/api/orders/${order.id}/messages?before=${before}&limit=50`);
    return result.ok ? result.data : null;
  },
});

const deliveries = new Deliveries({ me, getOrder: () => order, onOrder: (next) => (next ? applyOrder(next) : refreshOrder()), initial: B.deliveries });

// --- Order, status, next step and actions ---------------------------------------------------

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

function closedDispute() {
  for (const dispute of disputes.values()) if (dispute.status === "CLOSED") return dispute;
  return null;
}

function renderOrder() {
  setStatusBadge(document.getElementById("status"), order.status);
  renderDeadline(order, me.role);
  renderTracker({
    list: document.getElementById("tracker"),
    order,
    reached,
    dispute: openDispute(),
    closedDispute: closedDispute(),
  });
  renderActions();
  renderMoney({ box: document.getElementById("money"), order, payment, feePercent: B.fee_percent, role: me.role });
  renderPayment();
  renderReview();
  renderDispute();
  deliveries.render();
  chat.refreshCompose();
  // Other modules (deliveries, deadlines) hook in here: they may add to #next-step-extra.
  document.dispatchEvent(new CustomEvent("order:rendered", { detail: { order, payment, me, disputes } }));
}

function currentPlan() {
  return planFor({
    order,
    role: me.role,
    names: { buyer: B.users[String(order.buyer_id)].username, creator: B.users[String(order.creator_id)].username },
    dispute: openDispute(),
    anyDispute: disputes.size > 0,
    review,
    disputable: isParty && DISPUTABLE.has(order.status),
  });
}

function actionButton(action, primary) {
  if (action.kind === "link") {
    return el("a", { class: `button${primary ? " primary" : " secondary"}`, href: action.href, text: action.label });
  }
  const button = el("button", {
    type: "button",
    class: primary ? "primary" : action.to === "CANCELLED" ? "secondary danger" : "secondary",
    dataset: action.to ? { move: action.to, action: action.kind } : { action: action.kind },
    text: action.label,
    onclick: () => runAction(action),
  });
  if (action.disabledReason) {
    button.disabled = true;
    button.title = action.disabledReason;
  }
  return button;
}

function renderActions() {
  const box = document.getElementById("actions");
  const hint = document.getElementById("actions-hint");
  const plan = currentPlan();
  document.getElementById("next-step-text").textContent = plan.text;
  box.replaceChildren();
  // Accept delivery / Ask for revision are answered on the latest delivery's card, when there is one.
  const onCard = (a) => a && a.kind === "move" && deliveries.handles(`${order.status}>${a.to}`);
  const primary = onCard(plan.primary) ? null : plan.primary;
  const secondary = plan.secondary.filter((a) => !onCard(a));
  if (primary) box.append(actionButton(primary, true));
  for (const action of secondary) box.append(actionButton(action, false));
  const hints = new Set(secondary.filter((a) => a.disabledReason).map((a) => a.disabledReason));
  hint.textContent = Array.from(hints).join(" ");
  hint.hidden = hints.size === 0;
  const moves = [primary, ...secondary].filter((a) => a && a.kind === "move" && !a.disabledReason);
  document.getElementById("move-note-box").hidden = moves.length === 0;
}

// What each kind of action does (by kind; frames are not involved).
const ACTIONS = {
  move: (action) => move(action.to),
  pay: () => pay(),
  review: () => {
    showPanel("details");
    document.getElementById("review-score").focus();
  },
  report: () => revealDisputeForm(),
};

async function runAction(action) {
  if (action.confirm) {
    const ok = await confirmDialog(action.confirm);
    if (!ok) return;
  }
  const run = ACTIONS[action.kind];
  if (run) await run(action);
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
    el("span", { class: "who", dir: "auto", text: event.actor_username }),
    " ",
    el("time", { datetime: event.created_at, text: fmtTime(event.created_at) }),
    event.note ? el("q", { class: "note", dir: "auto", text: event.note }) : null,
  );
  const after = Array.from(list.children).find((node) => Number(node.dataset.seq) > event.seq);
  list.insertBefore(li, after || null);
}

// --- Payment --------------------------------------------------------------------------------

// The payment's state under Money; paying itself is the buyer's primary action (pay()).
function renderPayment() {
  const box = document.getElementById("payment");
  box.replaceChildren();
  const price = fmtMoney(order.final_price);
  const simulated = payment ? payment.simulated : order.payments_simulated;
  if (order.is_paid) {
    box.append(
      el("p", { class: "paid", "data-testid": "paid" }, `Paid: ${fmtMoney(payment ? payment.total_amount : order.final_price)}`, simulated ? " (simulated payment)" : ""),
    );
    return;
  }
  if (payment && payment.status === "REFUNDED") {
    box.append(el("p", { "data-testid": "refunded", text: `Refunded in full: ${fmtMoney(payment.refunded_amount)}` }));
    return;
  }
  if (order.status !== "PENDING") {
    box.append(el("p", { text: order.status === "CANCELLED" ? "Not paid (the order was cancelled)." : "Not paid." }));
    return;
  }
  if (order.payments_simulated) {
    box.append(el("p", { class: "notice", text: "This server uses simulated payments: no card is charged and no money moves." }));
  }
  if (me.role !== "buyer") box.append(el("p", { text: `Waiting for the buyer to pay ${price}.` }));
}

async function pay() {
  const error = document.getElementById("actions-error");
  const button = document.querySelector('#actions button[data-action="pay"]');
  if (button) button.disabled = true;
  showError(error, "");
  if (!order.payments_simulated) {
    const mount = document.getElementById("payment-mount");
    mount.replaceChildren(el("p", { text: "Card details go straight to Stripe." }), el("div", { id: "payment-element" }));
    await startStripePayment({ orderId: order.id, mount: mount.lastChild, error, onPaid: () => applyPaid(null) });
    return;
  }
  const result = await api("POST", `/api/orders/${order.id}/payment`);
  if (result.ok && result.data.status === "SUCCEEDED") {
    applyPaid(result.data);
  } else {
    showError(error, result.ok ? `Payment ${result.data.status.toLowerCase()}.` : errorText(result));
    if (button) button.disabled = false;
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
        review.comment ? el("blockquote", { class: "review-text", dir: "auto", text: review.comment }) : null,
        el("p", { class: "meta" }, "by ", el("bdi", { text: review.author_username })),
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
  const comment = el("textarea", { id: "review-comment", name: "comment", rows: "3", maxlength: "2000", dir: "auto" });
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

let disputeFormOpen = false;

function revealDisputeForm() {
  disputeFormOpen = true;
  renderDispute();
  showPanel("details");
  const reason = document.getElementById("dispute-reason");
  if (reason) {
    reason.scrollIntoView({ block: "center" });
    reason.focus();
  }
}

function renderDispute() {
  const section = document.getElementById("dispute-box");
  const box = document.getElementById("dispute");
  const list = Array.from(disputes.values()).sort((a, b) => b.id - a.id);
  // The form is on screen: keep it, and what was typed, across live re-renders.
  const canOpen = isParty && disputes.size === 0 && DISPUTABLE.has(order.status);
  if (canOpen && disputeFormOpen && box.querySelector("#dispute-form")) return;
  box.replaceChildren();
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
          dispute.refund_amount ? ` (${fmtMoney(dispute.refund_amount)})` : "",
        ),
        el("p", { class: "reason-text", dir: "auto", text: dispute.reason }),
        dispute.resolution ? el("p", { class: "resolution", dir: "auto", text: dispute.resolution }) : null,
        el("a", { href: `/disputes/${dispute.id}/`, text: "Open the dispute room" }),
      ),
    );
  }
  // Only shown when there is something to say: a dispute, or the form asked for.
  section.hidden = list.length === 0 && !(canOpen && disputeFormOpen);
  if (!canOpen || !disputeFormOpen) return;
  const reason = el("textarea", { id: "dispute-reason", rows: "3", minlength: "10", maxlength: "500", required: true, dir: "auto" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const form = el(
    "form",
    { class: "stack", id: "dispute-form" },
    el("p", { class: "hint", text: "An admin joins, hears both sides and decides: a refund, a release to the creator, or the order resumes." }),
    el("label", { for: "dispute-reason", text: "Something wrong? Describe the problem (10 to 500 characters)" }),
    reason,
    error,
    el(
      "div",
      { class: "row" },
      el("button", { type: "submit", class: "danger", text: "Open a dispute" }),
      el("button", {
        type: "button",
        class: "secondary",
        text: "Never mind",
        onclick: () => {
          disputeFormOpen = false;
          renderDispute();
          const again = document.querySelector('#actions button[data-action="report"]');
          if (again) again.focus();
        },
      }),
    ),
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
      disputeFormOpen = false;
      renderOrder();
    } else {
      showError(error, errorText(result));
      form.querySelector("button").disabled = false;
    }
  });
  box.append(form);
}

// --- Phone: one panel at a time (Chat, Details, Timeline) -----------------------------------

const PANELS = ["chat", "details", "timeline"];

function showPanel(name) {
  document.getElementById("workspace").dataset.view = name;
  for (const panel of PANELS) {
    const tab = document.getElementById(`tab-${panel}`);
    const selected = panel === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  if (name === "chat") {
    document.getElementById("tab-chat-unread").hidden = true;
    chat.scrollToEnd();
    chat.scheduleRead();
  }
}

function bindTabs() {
  const tabs = PANELS.map((name) => document.getElementById(`tab-${name}`));
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => showPanel(PANELS[index]));
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = (index + step + tabs.length) % tabs.length;
      showPanel(PANELS[next]);
      tabs[next].focus();
    });
  });
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
      if (frame.event && frame.event.to_status) reached.add(frame.event.to_status);
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
    case "payout.waiting":
    case "payout.pending":
    case "payout.paid":
    case "payout.failed":
    case "payout.not_needed":
      payment = frame.payment;
      renderOrder();
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
  if (event.to_status) reached.add(event.to_status);
}
formatMoneyNodes();
bindTabs();
renderOrder();
chat.socket = new LiveSocket(`/ws/orders/${order.id}/`, {
  query: () => ({ after_seq: chat.lastSeq }),
  onFrame,
  onState: (state) => {
    if (state !== "live") chat.typingNode.textContent = "";
  },
}).start();
