// A live thread shared by the order workspace and the dispute room: seq-ordered messages with
// dedupe, an outbox of messages typed while offline (sent with their client_id on reconnect),
// typing indicator, presence and read marks. Protocol: docs/websocket-protocol.md.

import { FilePicker, fileList } from "./attachments.js";
import { layoutThread } from "./chat_layout.js";
import { el, fmtTime, linkified, newClientId, showError } from "./dom.js";

const TYPING_RENEW_MS = 3000;
const TYPING_IDLE_MS = 4000;
const TYPING_SHOWN_MS = 6500;

export class Chat {
  constructor({
    me,
    users,
    canRead = () => true,
    canPost = () => true,
    closedReason = () => "This thread is closed to new messages.",
    loadOlder = null,
    onOthersMessage = null,
    uploadTo = null,
  }) {
    this.me = me;
    this.closedReason = closedReason;
    this.onOthersMessage = onOthersMessage;
    this.emptyNode = document.getElementById("chat-empty");
    this.announceNode = document.getElementById("chat-announce");
    this.closedNode = document.getElementById("thread-closed");
    this.users = users || {};
    this.canRead = canRead;
    this.canPost = canPost;
    this.loadOlderFn = loadOlder;
    this.list = document.getElementById("messages");
    this.typingNode = document.getElementById("typing");
    this.onlineNode = document.getElementById("online");
    this.form = document.getElementById("compose");
    this.input = document.getElementById("compose-text");
    this.errorNode = document.getElementById("chat-error");
    this.olderButton = document.getElementById("load-older");
    this.socket = null;
    this.seen = new Set();
    this.lastSeq = 0;
    this.readBy = new Map();
    this.readSent = 0;
    this.pending = new Map();
    this.online = new Map();
    this.typingTimers = new Map();
    this.typingSentAt = 0;
    this.typingIdle = null;
    this.syncAsked = 0;
    this.hasMore = false;
    this.loadingOlder = false;
    // Files go up first (to the order `uploadTo`), then their ids go with message.send.
    this.files = uploadTo ? new FilePicker({ orderId: uploadTo, max: 5, label: "Attach files" }) : null;
    if (this.files) this.form.insertBefore(this.files.node, this.form.querySelector("button"));
    this.bindCompose();
    this.bindScroll();
    document.addEventListener("visibilitychange", () => this.scheduleRead());
    window.addEventListener("focus", () => this.scheduleRead());
  }

  // --- Initial state ------------------------------------------------------------------------

  load(messages, { hasMore = false, lastSeq = 0, readMarks = {} } = {}) {
    for (const [userId, seq] of Object.entries(readMarks)) {
      if (Number(userId) !== this.me.id) this.readBy.set(Number(userId), seq);
      else this.readSent = seq;
    }
    for (const message of messages) this.insertMessage(message);
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    this.setHasMore(hasMore);
    this.relayout();
    this.scrollToEnd();
    this.refreshCompose();
  }

  name(userId) {
    if (userId === this.me.id) return "you";
    const user = this.users[String(userId)];
    if (user) return user.username;
    return "an admin";
  }

  // --- Seq bookkeeping ----------------------------------------------------------------------

  // Record a timeline entry; false if it was shown already. Asks for a sync on a gap.
  accept(seq) {
    if (this.seen.has(seq)) return false;
    if (seq > this.lastSeq + 1 && this.syncAsked < seq && this.socket && this.socket.isOpen) {
      this.syncAsked = seq;
      this.socket.send({ type: "sync", after_seq: this.lastSeq });
    }
    this.seen.add(seq);
    this.lastSeq = Math.max(this.lastSeq, seq);
    return true;
  }

  // --- Frames -------------------------------------------------------------------------------

  // Handles the frames every room shares; returns true when the frame is fully handled.
  handle(frame) {
    switch (frame.type) {
      case "hello":
        this.syncAsked = 0;
        this.online = new Map((frame.online || []).map((p) => [p.user_id, p.role]));
        this.renderOnline();
        return false;
      case "message.new":
        this.receive(frame.message);
        return true;
      case "message.ack":
        this.acked(frame.client_id, frame.message);
        return true;
      case "typing":
        this.showTyping(frame.user_id, frame.active);
        return true;
      case "presence":
        this.presence(frame);
        return true;
      case "read":
        this.read(frame.user_id, frame.seq);
        return true;
      case "sync.done":
        this.flushOutbox();
        this.scheduleRead();
        return true;
      case "pong":
        if (typeof frame.last_seq === "number" && frame.last_seq > this.lastSeq && this.socket) {
          this.socket.send({ type: "sync", after_seq: this.lastSeq });
        }
        return true;
      case "error":
        this.failed(frame);
        return true;
      default:
        return false;
    }
  }

  receive(message) {
    if (!this.users[String(message.sender_id)] && message.sender_id !== this.me.id) {
      this.users[String(message.sender_id)] = {
        username: message.sender_username,
        role: message.from_admin ? "admin" : "",
      };
    }
    const pending = message.client_id ? this.pending.get(message.client_id) : null;
    if (pending && message.sender_id === this.me.id) {
      this.acked(message.client_id, message);
      return;
    }
    if (!this.accept(message.seq)) return;
    const nearEnd = this.nearEnd();
    this.insertMessage(message);
    this.showTyping(message.sender_id, false);
    if (message.sender_id !== this.me.id) {
      // The one live announcement: a new message from someone else (never our own, never marks).
      this.announceNode.textContent = `${message.sender_username}: ${message.content}`;
      if (this.onOthersMessage) this.onOthersMessage(message);
    }
    if (nearEnd) this.scrollToEnd();
    this.scheduleRead();
  }

  acked(clientId, message) {
    const pending = this.pending.get(clientId);
    this.pending.delete(clientId);
    if (pending) {
      pending.li.remove();
      this.relayout();
    }
    if (this.accept(message.seq)) this.insertMessage(message);
    this.scrollToEnd();
  }

  failed(frame) {
    const pending = frame.ref ? this.pending.get(String(frame.ref)) : null;
    if (pending) {
      pending.failed = true;
      pending.mark.textContent = `Not sent: ${frame.message}`;
      pending.li.classList.add("failed");
      pending.li.append(
        el("button", {
          type: "button",
          class: "link",
          text: "Retry",
          onclick: (event) => {
            event.currentTarget.remove();
            pending.failed = false;
            pending.li.classList.remove("failed");
            this.transmit(pending);
          },
        }),
      );
      return;
    }
    showError(this.errorNode, frame.message || "Something went wrong.");
  }

  read(userId, seq) {
    if (userId === this.me.id) {
      this.readSent = Math.max(this.readSent, seq);
      return;
    }
    this.readBy.set(userId, Math.max(this.readBy.get(userId) || 0, seq));
    this.refreshReadMarks();
  }

  presence(frame) {
    const wasOnline = this.online.has(frame.user_id);
    if (frame.online) this.online.set(frame.user_id, frame.role);
    else this.online.delete(frame.user_id);
    this.renderOnline();
    if (frame.role === "admin" && frame.user_id !== this.me.id && frame.online !== wasOnline) {
      this.systemLine(frame.online ? "An admin joined" : "The admin left");
    }
    if (!frame.online) this.showTyping(frame.user_id, false);
  }

  // --- Rendering ----------------------------------------------------------------------------

  insertMessage(message) {
    this.seen.add(message.seq);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    const mine = message.sender_id === this.me.id;
    const admin = Boolean(message.from_admin);
    const li = el(
      "li",
      {
        class: `msg${mine ? " mine" : ""}${admin ? " admin" : ""}`,
        dataset: { seq: String(message.seq), sender: String(message.sender_id), sentAt: message.sent_at },
      },
      el(
        "p",
        { class: "msg-meta" },
        el("bdi", { class: "sender", text: mine ? "You" : message.sender_username }),
        admin ? el("span", { class: "tag admin-tag", text: "Admin" }) : null,
        el("time", { datetime: message.sent_at, text: fmtTime(message.sent_at) }),
      ),
      el("p", { class: "msg-text", dir: "auto" }, ...linkified(message.content)),
      fileList(message.attachments),
      mine ? el("span", { class: "mark", text: "Sent" }) : null,
    );
    // Seq order among messages; system lines stay where they happened; queued ones stay last.
    const anchor = Array.from(this.list.children).find(
      (node) =>
        node.classList.contains("pending") ||
        (node.dataset.seq && Number(node.dataset.seq) > message.seq),
    );
    this.list.insertBefore(li, anchor || null);
    if (mine) this.refreshReadMarks();
    this.relayout();
  }

  relayout() {
    layoutThread({ list: this.list, meId: this.me.id, emptyNode: this.emptyNode });
  }

  systemLine(text) {
    const li = el("li", { class: "system", text });
    const firstPending = Array.from(this.list.children).find((node) =>
      node.classList.contains("pending"),
    );
    this.list.insertBefore(li, firstPending || null);
    this.relayout();
    this.scrollToEnd();
  }

  refreshReadMarks() {
    const others = Math.max(0, ...this.readBy.values());
    for (const mark of this.list.querySelectorAll("li.mine[data-seq] .mark")) {
      const seq = Number(mark.parentElement.dataset.seq);
      const isRead = others >= seq;
      mark.textContent = isRead ? "Read" : "Sent";
      mark.classList.toggle("read", isRead);
    }
  }

  renderOnline() {
    const names = [];
    for (const [userId, role] of this.online) {
      const user = this.users[String(userId)];
      if (userId === this.me.id) names.push(`${this.me.username} (you)`);
      else if (role === "admin") names.push(user ? `${user.username} (admin)` : "an admin");
      else names.push(user ? user.username : role);
    }
    this.onlineNode.textContent = names.length ? names.join(", ") : "nobody";
  }

  showTyping(userId, active) {
    if (userId === this.me.id) return;
    clearTimeout(this.typingTimers.get(userId));
    this.typingTimers.delete(userId);
    if (active) {
      this.typingTimers.set(
        userId,
        setTimeout(() => this.showTyping(userId, false), TYPING_SHOWN_MS),
      );
    }
    const names = Array.from(this.typingTimers.keys(), (id) => this.name(id));
    this.typingNode.textContent = names.length
      ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…`
      : "";
  }

  nearEnd() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  refreshCompose() {
    const allowed = this.canPost();
    this.form.hidden = !allowed;
    if (this.closedNode) {
      this.closedNode.textContent = allowed ? "" : this.closedReason();
      this.closedNode.hidden = allowed;
    }
  }

  // --- Sending ------------------------------------------------------------------------------

  bindCompose() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const content = this.input.value.trim();
      if (!content) return;
      this.input.value = "";
      this.stopTyping();
      this.queue(content);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => this.typed());
    this.input.addEventListener("blur", () => this.stopTyping());
  }

  queue(content) {
    showError(this.errorNode, "");
    const clientId = newClientId();
    const mark = el("span", { class: "mark" });
    const li = el(
      "li",
      { class: "msg mine pending", dataset: { clientId } },
      el("p", { class: "msg-meta" }, el("bdi", { class: "sender", text: "You" })),
      el("p", { class: "msg-text", dir: "auto" }, ...linkified(content)),
      mark,
    );
    this.list.append(li);
    this.relayout();
    const attachmentIds = this.files ? this.files.ids() : [];
    if (this.files) this.files.clear();
    const entry = { clientId, content, li, mark, failed: false, attachmentIds };
    this.pending.set(clientId, entry);
    this.transmit(entry);
    this.scrollToEnd();
  }

  transmit(entry) {
    const sent =
      this.socket !== null &&
      this.socket.send({
        type: "message.send",
        content: entry.content,
        client_id: entry.clientId,
        ...(entry.attachmentIds.length ? { attachment_ids: entry.attachmentIds } : {}),
      });
    entry.mark.textContent = sent ? "Sending…" : "Queued: sends when you are back online";
  }

  // Every message still waiting for its ack, in the order typed, with its original client_id.
  flushOutbox() {
    for (const entry of this.pending.values()) {
      if (!entry.failed) this.transmit(entry);
    }
  }

  typed() {
    if (!this.socket || !this.socket.isOpen) return;
    clearTimeout(this.typingIdle);
    if (!this.input.value.trim()) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_RENEW_MS) {
      this.typingSentAt = now;
      this.socket.send({ type: "typing", active: true });
    }
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (this.typingSentAt && this.socket) {
      this.socket.send({ type: "typing", active: false });
    }
    this.typingSentAt = 0;
  }

  // --- Read marks ---------------------------------------------------------------------------

  scheduleRead() {
    if (!this.canRead() || document.visibilityState !== "visible") return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (this.lastSeq > this.readSent && this.socket && this.socket.isOpen) {
        this.readSent = this.lastSeq;
        this.socket.send({ type: "read", seq: this.lastSeq });
      }
    }, 250);
  }

  // --- Older history ------------------------------------------------------------------------

  setHasMore(hasMore) {
    this.hasMore = hasMore;
    if (this.olderButton) this.olderButton.hidden = !hasMore;
  }

  bindScroll() {
    if (!this.olderButton) return;
    this.olderButton.addEventListener("click", () => this.loadOlder());
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop < 40) this.loadOlder();
    });
  }

  oldestSeq() {
    const first = this.list.querySelector("li[data-seq]");
    return first ? Number(first.dataset.seq) : this.lastSeq + 1;
  }

  async loadOlder() {
    if (!this.hasMore || this.loadingOlder || !this.loadOlderFn) return;
    this.loadingOlder = true;
    const before = this.oldestSeq();
    const page = await this.loadOlderFn(before);
    this.loadingOlder = false;
    if (!page) return;
    const height = this.list.scrollHeight;
    const top = this.list.scrollTop;
    for (const message of page.results) {
      if (!this.seen.has(message.seq)) this.insertMessage(message);
    }
    this.list.scrollTop = top + (this.list.scrollHeight - height);
    this.setHasMore(page.has_more);
  }
}
