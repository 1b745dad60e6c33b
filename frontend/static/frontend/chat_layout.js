// The thread's layout, recomputed after each change: a separator before each day's first message,
// and one header (name, time) per run of one sender's messages close together in time.

import { el } from "./dom.js";

const GROUP_GAP_MS = 5 * 60 * 1000; // one sender's messages closer than this share one header

export function layoutThread({ list, meId, emptyNode }) {
  for (const day of list.querySelectorAll("li.day")) day.remove();
  let previous = null;
  let lastDay = "";
  const today = new Date().toDateString();
  const yesterday = new Date(Date.now() - 86400000).toDateString();
  for (const li of Array.from(list.children)) {
    if (!li.classList.contains("msg")) {
      previous = null; // a system line breaks a run
      continue;
    }
    const sent = li.dataset.sentAt ? new Date(li.dataset.sentAt) : new Date();
    const dayKey = sent.toDateString();
    if (dayKey !== lastDay) {
      lastDay = dayKey;
      const label =
        dayKey === today
          ? "Today"
          : dayKey === yesterday
            ? "Yesterday"
            : sent.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
      list.insertBefore(el("li", { class: "day", text: label }), li);
      previous = null;
    }
    const sender = li.classList.contains("pending") ? String(meId) : li.dataset.sender;
    const continues =
      previous !== null &&
      previous.sender === sender &&
      previous.admin === li.classList.contains("admin") &&
      sent - previous.sent < GROUP_GAP_MS;
    li.classList.toggle("cont", continues);
    if (previous) previous.li.classList.toggle("group-end", !continues);
    li.classList.add("group-end");
    previous = { li, sender, sent, admin: li.classList.contains("admin") };
  }
  if (emptyNode) emptyNode.hidden = list.querySelector("li.msg") !== null;
}
