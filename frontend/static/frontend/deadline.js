// What the time-based rules will do next to an order, and when: one line on the order page
// from the order's `deadline` ({kind, at} or null, docs/api.md), re-rendered with every order
// the page receives (REST or live frames), and the timeline's words for the rules' notices.

function day(iso) {
  return new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short" });
}

// deadline.kind -> the line, for the viewer's role.
const LINES = {
  accept_by: (when, role) =>
    role === "creator"
      ? `Accept by ${when}, or the order is cancelled and the buyer refunded`
      : `Creator must accept by ${when}`,
  due_by: (when) => `Delivery due by ${when}`,
  late_since: (when) => `Late since ${when}`,
  auto_complete: (when, role) =>
    role === "buyer"
      ? `Completes automatically on ${when} if you don't answer`
      : `Completes automatically on ${when} unless the buyer answers`,
};

export function deadlineText(order, role) {
  const deadline = order && order.deadline;
  const line = deadline && LINES[deadline.kind];
  return line ? line(day(deadline.at), role) : "";
}

export function renderDeadline(order, role) {
  const node = document.getElementById("deadline");
  if (!node) return;
  const text = deadlineText(order, role);
  node.textContent = text;
  node.hidden = !text;
  node.dataset.kind = text ? order.deadline.kind : "";
  if (text) node.title = new Date(order.deadline.at).toLocaleString();
}

// A timeline entry's words: a move, the placement, or a notice of the rules (late, reminder).
export function eventWhat(event, statusLabel) {
  if (event.kind === "late") return "Marked late";
  if (event.kind === "reminder") return "Reminder: completes automatically soon";
  return event.from_status
    ? `${statusLabel(event.from_status)} → ${statusLabel(event.to_status)}`
    : "Order placed";
}
