// Files on messages, deliveries and dispute messages: upload with per-file progress (XHR, so the
// browser reports the bytes sent), and the list a message or delivery shows. Uploads go to
// POST /api/orders/{id}/attachments; downloads through GET /api/attachments/{id}/download, which
// answers a short-lived signed link.

import { el } from "./dom.js";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function fmtSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// Resolves to {ok, status, data} like api(); onProgress(fraction 0..1) while the bytes go up.
export function uploadFile(orderId, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/orders/${orderId}/attachments`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.withCredentials = true;
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (err) {
        data = { error: `Upload failed (${xhr.status}).` };
      }
      resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data });
    });
    xhr.addEventListener("error", () =>
      resolve({ ok: false, status: 0, data: { error: "The upload could not reach the server." } }),
    );
    const body = new FormData();
    body.append("file", file);
    xhr.send(body);
  });
}

// The files of a message or a delivery: name (a download link), size, type, image preview.
export function fileList(attachments) {
  if (!attachments || !attachments.length) return null;
  return el(
    "ul",
    { class: "files" },
    ...attachments.map((file) =>
      el(
        "li",
        { class: "file", dataset: { attachmentId: String(file.id) } },
        file.has_preview
          ? el("img", {
              class: "preview",
              src: `/api/attachments/${file.id}/download?preview=1`,
              alt: `Preview of ${file.name}`,
              loading: "lazy",
            })
          : null,
        el("a", { href: `/api/attachments/${file.id}/download`, download: file.name, text: file.name }),
        el("span", { class: "file-meta", text: ` ${fmtSize(file.size)} · ${file.content_type}` }),
      ),
    ),
  );
}

// A file picker with drag and drop that uploads each chosen file at once, with a progress bar
// per file; ids() are the finished uploads, in the order chosen.
export class FilePicker {
  constructor({ orderId, max, label, onChange }) {
    this.orderId = orderId;
    this.max = max;
    this.onChange = onChange || (() => {});
    this.entries = [];
    this.input = el("input", { "type": "file", multiple: true, class: "file-input", "aria-label": label });
    this.list = el("ul", { class: "uploads" });
    this.node = el(
      "div",
      { class: "drop-zone" },
      el("p", { class: "hint", text: `${label}: drop files here or choose them (at most ${max}).` }),
      this.input,
      this.list,
    );
    this.input.addEventListener("change", () => {
      this.add(Array.from(this.input.files || []));
      this.input.value = "";
    });
    this.node.addEventListener("dragover", (event) => {
      event.preventDefault();
      this.node.classList.add("dragging");
    });
    this.node.addEventListener("dragleave", () => this.node.classList.remove("dragging"));
    this.node.addEventListener("drop", (event) => {
      event.preventDefault();
      this.node.classList.remove("dragging");
      this.add(Array.from(event.dataTransfer ? event.dataTransfer.files : []));
    });
  }

  add(files) {
    for (const file of files) {
      if (this.entries.length >= this.max) break;
      const bar = el("progress", { max: "1", value: "0", "aria-label": `Uploading ${file.name}` });
      const state = el("span", { class: "upload-state", text: "uploading…" });
      const li = el("li", { class: "upload" }, el("span", { text: `${file.name} (${fmtSize(file.size)}) ` }), bar, state);
      const entry = { id: null, done: false, failed: false, li };
      this.entries.push(entry);
      this.list.append(li);
      entry.promise = uploadFile(this.orderId, file, (fraction) => {
        bar.value = fraction;
      }).then((result) => {
        entry.done = true;
        if (result.ok) {
          entry.id = result.data.id;
          bar.value = 1;
          state.textContent = "ready";
          li.classList.add("ready");
        } else {
          entry.failed = true;
          state.textContent = (result.data && result.data.error) || "failed";
          li.classList.add("failed");
        }
        this.onChange();
      });
    }
    this.onChange();
  }

  busy() {
    return this.entries.some((entry) => !entry.done);
  }

  async settled() {
    await Promise.all(this.entries.map((entry) => entry.promise));
  }

  ids() {
    return this.entries.filter((entry) => entry.id !== null).map((entry) => entry.id);
  }

  clear() {
    this.entries = [];
    this.list.replaceChildren();
    this.onChange();
  }
}
