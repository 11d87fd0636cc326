// Modal dialogs on the native <dialog> element: focus is trapped and Escape closes them.

import { h } from "./dom.js";

/** Opens a modal with a title and body; resolves when it closes. Returns {dialog, close}. */
export function openDialog(title, ...body) {
  const heading = h("h2", { class: "dialog-title", text: title });
  const closeBtn = h("button", { type: "button", class: "icon-button", "aria-label": "Close", text: "×" });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-label": title },
    h("div", { class: "dialog-head" }, heading, closeBtn),
    h("div", { class: "dialog-body" }, ...body),
  );
  const close = () => {
    if (dialog.open) dialog.close();
  };
  closeBtn.addEventListener("click", close);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, close };
}

/** Asks for confirmation; resolves true when confirmed. */
export function confirmDialog(title, message, confirmLabel, danger = true) {
  return new Promise((resolve) => {
    let answered = false;
    const yes = h("button", { type: "button", class: danger ? "button danger" : "button primary", text: confirmLabel });
    const no = h("button", { type: "button", class: "button", text: "Cancel" });
    const { dialog, close } = openDialog(title, h("p", { text: message }), h("div", { class: "form-actions" }, no, yes));
    yes.addEventListener("click", () => {
      answered = true;
      close();
    });
    no.addEventListener("click", close);
    dialog.addEventListener("close", () => resolve(answered));
    no.focus();
  });
}

/** A read-only secret with a Copy button, for values shown once. */
export function secretBox(label, value) {
  const input = h("input", { type: "text", readonly: true, class: "secret-value mono", value, "aria-label": label });
  const status = h("span", { class: "copy-status", role: "status" });
  const copy = h("button", { type: "button", class: "button", text: "Copy" });
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      document.execCommand("copy");
    }
    status.textContent = "Copied";
    setTimeout(() => (status.textContent = ""), 2000);
  });
  input.addEventListener("focus", () => input.select());
  return h("div", { class: "secret" }, input, copy, status);
}
