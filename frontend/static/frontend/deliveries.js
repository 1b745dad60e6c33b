// The order's deliveries as cards (message, files, revision n of m, due date, late), with
// Accept delivery / Ask for revision on the latest one for the buyer, and the creator's form to
// deliver files. Kept live by order.js: delivery.new frames and order moves.

import { api, errorText } from "./api.js";
import { FilePicker, fileList } from "./attachments.js";
import { confirmDialog, el, fmtTime, showError } from "./dom.js";

const MAX_FILES = 10;

function revisionText(delivery) {
  const allowed = delivery.revisions_allowed;
  if (delivery.revision === 0) return "First delivery";
  return allowed === null ? `Revision ${delivery.revision} (unlimited)` : `Revision ${delivery.revision} of ${allowed}`;
}

export class Deliveries {
  constructor({ me, getOrder, onOrder, initial }) {
    this.me = me;
    this.getOrder = getOrder;
    this.onOrder = onOrder;
    this.items = new Map((initial || []).map((d) => [d.id, d]));
    this.box = document.getElementById("deliveries");
    this.dueNode = document.getElementById("due");
    this.formBox = document.getElementById("deliver-box");
    this.form = null;
  }

  latest() {
    let latest = null;
    for (const d of this.items.values()) if (!latest || d.seq > latest.seq) latest = d;
    return latest;
  }

  // The buyer answers an awaited delivery on its card, not with the plain status buttons.
  handles(moveKey) {
    const latest = this.latest();
    const order = this.getOrder();
    return (
      order.status === "DELIVERED" &&
      latest !== null &&
      !latest.decision &&
      (moveKey === "DELIVERED>COMPLETED" || moveKey === "DELIVERED>IN_PROGRESS")
    );
  }

  add(delivery) {
    this.items.set(delivery.id, delivery);
    this.render();
  }

  async refresh() {
    const result = await api("GET", `/api/orders/${this.getOrder().id}/deliveries`);
    if (!result.ok) return;
    this.items = new Map(result.data.map((d) => [d.id, d]));
    this.render();
  }

  render() {
    if (!this.box) return;
    const order = this.getOrder();
    this.renderDue(order);
    const list = Array.from(this.items.values()).sort((a, b) => b.seq - a.seq);
    this.box.replaceChildren(
      ...(list.length ? list.map((d, i) => this.card(d, i === 0, order)) : [el("p", { class: "hint", text: "Nothing delivered yet." })]),
    );
    this.renderForm(order);
  }

  renderDue(order) {
    if (!this.dueNode) return;
    const terms = `${order.delivery_days} day${order.delivery_days === 1 ? "" : "s"}, ${
      order.revisions_included === null ? "unlimited revisions" : `${order.revisions_included} revision${order.revisions_included === 1 ? "" : "s"} included`
    }${order.revisions_granted ? ` (+${order.revisions_granted} granted)` : ""}`;
    const late = order.due_at && order.status === "IN_PROGRESS" && new Date(order.due_at) < new Date();
    this.dueNode.replaceChildren(
      el("span", { text: order.due_at ? `Due ${fmtTime(order.due_at)}` : "Due date set when the creator accepts" }),
      late ? el("span", { class: "tag late", text: "Late" }) : null,
      el("span", { class: "hint", text: ` · ${terms}` }),
    );
  }

  card(delivery, isLatest, order) {
    const late = order.due_at && new Date(delivery.created_at) > new Date(order.due_at);
    const decision = {
      accepted: "Accepted",
      revision_requested: `Revision asked: ${delivery.decision_note || ""}`,
    }[delivery.decision];
    const card = el(
      "article",
      { class: "delivery", dataset: { deliveryId: String(delivery.id) }, "aria-label": `Delivery ${delivery.id}` },
      el(
        "p",
        { class: "msg-meta" },
        el("strong", { text: revisionText(delivery) }),
        " · ",
        el("time", { datetime: delivery.created_at, text: fmtTime(delivery.created_at) }),
        late ? el("span", { class: "tag late", text: "Late" }) : null,
      ),
      el("p", { class: "delivery-message", text: delivery.message }),
      fileList(delivery.attachments),
      decision ? el("p", { class: "decision", text: decision }) : null,
    );
    if (isLatest && !delivery.decision && order.status === "DELIVERED" && this.me.role === "buyer") {
      card.append(this.answerForm(delivery, order));
    }
    return card;
  }

  answerForm(delivery, order) {
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const reason = el("textarea", { rows: "2", maxlength: "1000", "aria-label": "What should change?", placeholder: "What should change?" });
    const left =
      order.revisions_included === null ? null : order.revisions_included + order.revisions_granted - order.revisions_used;
    const call = async (path, body) => {
      showError(error, "");
      const result = await api("POST", `/api/orders/${order.id}/deliveries/${delivery.id}/${path}`, body);
      if (result.ok) {
        this.onOrder(result.data);
        this.refresh();
      } else showError(error, errorText(result));
    };
    return el(
      "div",
      { class: "stack answer" },
      el("button", {
        type: "button",
        class: "primary",
        text: "Accept delivery",
        onclick: async () => {
          const ok = await confirmDialog({
            title: "Accept the delivery?",
            body: "The order completes and the creator is paid. You can still review it, but not ask for a revision.",
            confirm: "Yes, accept the delivery",
          });
          if (ok) await call("accept");
        },
      }),
      reason,
      el("button", {
        type: "button",
        class: "secondary",
        text: "Ask for revision",
        disabled: left !== null && left <= 0,
        onclick: () => {
          if (!reason.value.trim()) return showError(error, "Say what should change.");
          return call("revision", { reason: reason.value.trim() });
        },
      }),
      left !== null ? el("p", { class: "hint", text: `${Math.max(left, 0)} revision round(s) left.` }) : null,
      error,
    );
  }

  renderForm(order) {
    if (!this.formBox) return;
    const show = this.me.role === "creator" && order.status === "IN_PROGRESS";
    this.formBox.hidden = !show && this.me.role !== "creator";
    if (!show) {
      this.formBox.replaceChildren();
      this.form = null;
      if (this.me.role === "creator" && order.status !== "COMPLETED" && order.status !== "CANCELLED" && order.revisions_included !== null) {
        this.formBox.append(this.grantForm(order));
      }
      return;
    }
    if (this.form) return; // keep what the creator typed and chose across live re-renders
    const message = el("textarea", { id: "delivery-message", rows: "3", maxlength: "5000", required: true });
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const submit = el("button", { type: "submit", text: "Hand over the work" });
    const picker = new FilePicker({
      orderId: order.id,
      max: MAX_FILES,
      label: "Files",
      onChange: () => {
        submit.disabled = picker.busy();
      },
    });
    const form = el(
      "form",
      { class: "stack", id: "deliver-form" },
      el("label", { for: "delivery-message", text: "Message with your delivery" }),
      message,
      picker.node,
      error,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, "");
      await picker.settled();
      submit.disabled = true;
      const result = await api("POST", `/api/orders/${order.id}/deliveries`, {
        message: message.value.trim(),
        attachment_ids: picker.ids(),
      });
      submit.disabled = false;
      if (result.ok) {
        this.add(result.data);
        this.form = null;
        this.onOrder(null);
      } else showError(error, errorText(result));
    });
    this.form = form;
    this.formBox.replaceChildren(el("h3", { text: "Deliver your work" }), form);
  }

  grantForm(order) {
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const count = el("input", { "type": "number", min: "1", max: "20", value: "1", "aria-label": "Extra revision rounds" });
    return el(
      "div",
      { class: "row grant" },
      count,
      el("button", {
        type: "button",
        class: "secondary",
        text: "Grant extra revisions",
        onclick: async () => {
          const result = await api("POST", `/api/orders/${order.id}/revisions/grant`, { count: Number(count.value) });
          if (result.ok) this.onOrder(null);
          else showError(error, errorText(result));
        },
      }),
      error,
    );
  }
}
