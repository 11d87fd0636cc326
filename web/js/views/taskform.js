// The dialog that creates a task or edits one, showing the server's validation errors next
// to the field they name.

import { post, patch, taskPath } from "../api.js";
import { h, field, showError } from "../dom.js";
import { openDialog } from "../dialog.js";
import { ORIGINS } from "../format.js";
import { navigate } from "../router.js";

/** Opens the form; `task` null creates. `onSaved(task)` runs after an edit. */
export function taskForm(ctx, pid, task, onSaved = null) {
  const editing = Boolean(task);
  const t = task || {};
  const save = h("button", { type: "submit", class: "button primary", text: editing ? "Save changes" : "Create task" });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel" });
  const message = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "form task-form" },
    field("Title", h("input", { name: "title", maxlength: 255, value: t.title || "", autocomplete: "off" }), "Optional: when blank, the first line of the description is used."),
    field("Description", h("textarea", { name: "description", rows: 6, required: true }, t.description || ""), "What should the agent do? Required."),
    h(
      "div",
      { class: "field-row" },
      field("Origin", h("select", { name: "origin_product", required: true }, ORIGINS.map(([v, l]) => h("option", { value: v, selected: (t.origin_product || "user_created") === v, text: l })))),
      field("Repository", h("input", { name: "repository", placeholder: "organization/repo", value: t.repository || "", autocomplete: "off", spellcheck: "false" })),
    ),
    field("Assignee", h("input", { name: "assignee", maxlength: 255, value: t.assignee || "", autocomplete: "off" }), "Optional: who or which agent the task is for."),
    message,
    h("div", { class: "form-actions" }, cancel, save),
  );
  const { close } = openDialog(editing ? `Edit ${t.slug}` : "New task", form);
  cancel.addEventListener("click", close);
  form.elements.title.focus();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    const body = {
      title: v("title"),
      description: form.elements.description.value,
      origin_product: v("origin_product"),
      repository: v("repository") || null,
      assignee: v("assignee") || null,
    };
    save.disabled = true;
    try {
      const saved = editing ? await patch(taskPath(pid, t.id), body) : await post(taskPath(pid), body);
      close();
      if (editing) {
        if (onSaved) onSaved(saved);
      } else {
        navigate(`/projects/${encodeURIComponent(pid)}/tasks/${encodeURIComponent(saved.id)}`);
      }
    } catch (err) {
      save.disabled = false;
      showError(form, err, message);
    }
  });
}
