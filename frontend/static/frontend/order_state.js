// Where an order stands, for the person looking at it: the status tracker, one sentence saying
// whose turn it is and what happens next, and the actions (one primary, the rest secondary).

import { el, fmtMoney } from "./dom.js";

const STEPS = [
  ["placed", "Placed"],
  ["paid", "Paid"],
  ["accepted", "Accepted"],
  ["delivered", "Delivered"],
  ["completed", "Completed"],
];
const AFTER_ACCEPT = new Set(["IN_PROGRESS", "DELIVERED", "COMPLETED"]);

// reached: the statuses the order's timeline has moved through.
export function renderTracker({ list, order, reached, dispute, closedDispute }) {
  const done = {
    placed: true,
    paid: Boolean(order.is_paid) || reached.has("PAID"),
    accepted: AFTER_ACCEPT.has(order.status) || reached.has("IN_PROGRESS"),
    delivered: order.status === "DELIVERED" || reached.has("DELIVERED"),
    completed: order.status === "COMPLETED",
  };
  // A dispute can complete an order that was never delivered: that step was skipped.
  const ended = order.status === "CANCELLED" || order.status === "COMPLETED";
  let currentFound = false;
  const items = [];
  for (const [key, label] of STEPS) {
    let state = done[key] ? "done" : "todo";
    if (state === "todo" && ended) state = "skipped";
    if (state === "todo" && !currentFound) {
      state = "current";
      currentFound = true;
    }
    const li = el(
      "li",
      { class: `step ${state}`, dataset: { step: key, state } },
      el("span", { class: "sr-only", text: state === "done" ? "Done: " : state === "current" ? "Next: " : state === "skipped" ? "Skipped: " : "" }),
      label,
    );
    if (state === "current") li.setAttribute("aria-current", "step");
    items.push(li);
  }
  if (order.status === "CANCELLED") {
    items.push(el("li", { class: "step branch stop", dataset: { step: "cancelled", state: "done" }, "aria-current": "step" }, "Cancelled"));
  }
  if (dispute) {
    items.push(el("li", { class: "step branch dispute", dataset: { step: "dispute", state: "current" } }, "Dispute open"));
  } else if (closedDispute) {
    items.push(el("li", { class: "step branch done", dataset: { step: "dispute", state: "done" } }, "Dispute closed"));
  }
  list.replaceChildren(...items);
}

// The plan for this person now: {text, primary, secondary[]}. An action is
// {kind: "move"|"pay"|"link"|"review"|"report", to?, label, confirm?, href?, disabledReason?}.
export function planFor({ order, role, names, dispute, anyDispute, review, disputable }) {
  const price = fmtMoney(order.final_price);
  const listedDiffers = order.listed_price !== order.final_price;
  const allowed = new Set(order.allowed_moves || []);
  const plan = { text: "", primary: null, secondary: [] };
  const move = (to, label, extra = {}) => (allowed.has(to) ? { kind: "move", to, label, ...extra } : null);
  const cancel = () =>
    move("CANCELLED", "Cancel order", {
      confirm: {
        title: "Cancel this order?",
        body: order.is_paid
          ? `The order ends for both sides and the buyer's ${price} is refunded. This cannot be undone.`
          : "The order ends for both sides. This cannot be undone.",
        confirm: "Yes, cancel the order",
        danger: true,
      },
    });
  const report =
    role !== "admin" && !anyDispute && disputable ? { kind: "report", label: "Report a problem" } : null;
  const isParty = role === "buyer" || role === "creator";
  if (dispute) {
    plan.text = isParty
      ? `A dispute is open: an admin decides how this order ends. Talk it through in the dispute room.`
      : `A dispute is open on this order: mediate it in the dispute room.`;
    plan.primary = { kind: "link", label: "Go to the dispute room", href: `/disputes/${dispute.id}/` };
    for (const to of allowed) {
      if (to === "COMPLETED" || to === "CANCELLED") {
        const action = to === "CANCELLED" ? cancel() : move(to, "Accept delivery");
        if (action && isParty) {
          action.disabledReason = "A dispute is open: an admin decides how this order ends.";
          plan.secondary.push(action);
        }
      } else if (to === "DELIVERED") plan.secondary.push(move(to, "Deliver"));
      else if (to === "IN_PROGRESS") plan.secondary.push(move(to, order.status === "DELIVERED" ? "Ask for revision" : "Accept order"));
    }
    plan.secondary = plan.secondary.filter(Boolean);
    return plan;
  }
  const { buyer, creator } = names;
  switch (`${role}:${order.status}`) {
    case "buyer:PENDING":
      if (!order.is_paid) {
        plan.text = `Your turn: pay ${price} so ${creator} can accept the order. The money is held until you accept the delivery.`;
        plan.primary = {
          kind: "pay",
          label: order.payments_simulated ? `Simulated payment: pay ${price}` : `Pay ${price}`,
        };
      } else {
        plan.text = `Waiting for ${creator} to accept the order. You can still cancel it; your payment is then refunded.`;
      }
      plan.secondary.push(cancel());
      break;
    case "creator:PENDING":
      if (!order.is_paid) {
        plan.text = `Waiting for ${buyer} to pay ${price}. You can accept the order once they have paid.`;
      } else {
        plan.text = `Your turn: ${buyer} has paid. Accept the order to start work${listedDiffers ? ` at the agreed ${price} (your listing says ${fmtMoney(order.listed_price)})` : ""}, or decline it.`;
        plan.primary = move(
          "IN_PROGRESS",
          listedDiffers
            ? `Accept order at ${price} (listed ${fmtMoney(order.listed_price)})`
            : `Accept order at ${price}`,
        );
      }
      plan.secondary.push(cancel());
      break;
    case "buyer:IN_PROGRESS":
      plan.text = `${creator} is working on it. Next: they deliver, then you accept the delivery or ask for a revision.`;
      plan.secondary.push(cancel(), report);
      break;
    case "creator:IN_PROGRESS":
      plan.text = `Your turn: deliver the work. Then ${buyer} accepts the delivery or asks for a revision.`;
      plan.primary = move("DELIVERED", "Deliver");
      plan.secondary.push(cancel(), report);
      break;
    case "buyer:DELIVERED":
      plan.text = `Your turn: check the delivery. Accepting it completes the order and pays ${creator}; or ask for a revision.`;
      plan.primary = move("COMPLETED", "Accept delivery", {
        confirm: {
          title: "Accept the delivery?",
          body: `The order completes and ${creator} is paid ${price} less the platform fee. You can still review it, but not ask for a revision.`,
          confirm: "Yes, accept the delivery",
        },
      });
      plan.secondary.push(move("IN_PROGRESS", "Ask for revision"), report);
      break;
    case "creator:DELIVERED":
      plan.text = `Waiting for ${buyer} to accept the delivery or ask for a revision.`;
      plan.secondary.push(report);
      break;
    case "buyer:COMPLETED":
      if (review) plan.text = "Completed and reviewed. Nothing more to do. Thank you!";
      else {
        plan.text = `Completed. Your turn: tell others how it went with a review of ${creator}.`;
        plan.primary = { kind: "review", label: "Write a review" };
      }
      plan.secondary.push(report);
      break;
    case "creator:COMPLETED":
      plan.text = review
        ? `Completed: ${buyer} left a review. Your payout is shown under Money.`
        : `Completed. Your payout is shown under Money; ${buyer} may still leave a review.`;
      plan.secondary.push(report);
      break;
    default:
      if (order.status === "CANCELLED") plan.text = "This order was cancelled. Nothing more to do.";
      else if (order.status === "COMPLETED") plan.text = "This order is completed.";
      else if (role === "admin") {
        plan.text = `You are viewing as an admin. ${order.status === "DELIVERED" ? `Waiting for ${buyer} to accept the delivery.` : order.status === "IN_PROGRESS" ? `Waiting for ${creator} to deliver.` : order.is_paid ? `Waiting for ${creator} to accept.` : `Waiting for ${buyer} to pay.`}`;
      }
      break;
  }
  plan.secondary = plan.secondary.filter(Boolean);
  return plan;
}
