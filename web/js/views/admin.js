// Administration: add people (a generated password is shown once) and projects.

import { get, post } from "../api.js";
import { h, mount, empty, notice, field, showError } from "../dom.js";
import { secretBox } from "../dialog.js";
import { timeAgo, userName } from "../format.js";

function userForm(onCreated) {
  const message = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary", text: "Add person" });
  const form = h(
    "form",
    { class: "form" },
    field("Email", h("input", { name: "email", type: "email", required: true, autocomplete: "off" })),
    h("div", { class: "field-row" }, field("First name", h("input", { name: "first_name", autocomplete: "off" })), field("Last name", h("input", { name: "last_name", autocomplete: "off" }))),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", minlength: 8 }), "Leave blank to generate one, shown once after adding."),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_admin" }), h("span", { class: "check-label", text: "Administrator (can add people and projects)" })),
    message,
    h("div", { class: "form-actions start" }, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    submit.disabled = true;
    try {
      const user = await post("/users/", { email: v("email"), first_name: v("first_name"), last_name: v("last_name"), password: form.elements.password.value || null, is_admin: form.elements.is_admin.checked });
      form.reset();
      message.hidden = true;
      onCreated(user);
    } catch (err) {
      showError(form, err, message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function projectForm(onCreated) {
  const message = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary", text: "Add project" });
  const form = h("form", { class: "form" }, field("Name", h("input", { name: "name", required: true, maxlength: 200, autocomplete: "off" }), "Task slugs take a prefix from it: “Web App” → WEB-0, WEB-1, …"), message, h("div", { class: "form-actions start" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const project = await post("/projects/", { name: form.elements.name.value.trim() });
      form.reset();
      message.hidden = true;
      onCreated(project);
    } catch (err) {
      showError(form, err, message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function adminView({ main, ctx }) {
  document.title = "People & projects · Burrow";
  if (!ctx.user.is_admin) {
    mount(main, empty("Administrators only", "Ask an administrator to add people or projects."));
    return;
  }
  const reveal = h("div", { class: "reveal-slot" });
  const people = h("section", { class: "card flush", "aria-label": "People" });
  const projects = h("section", { class: "card flush", "aria-label": "Projects" });

  async function loadPeople() {
    try {
      const list = (await get("/users/")).results;
      mount(
        people,
        h("div", { class: "card-head" }, h("h2", { text: "People" }), h("span", { class: "muted", text: String(list.length) })),
        h(
          "table",
          { class: "table" },
          h("thead", {}, h("tr", {}, ["Name", "Email", "Role"].map((c) => h("th", { scope: "col", text: c })))),
          h("tbody", {}, list.map((u) => h("tr", {}, h("td", { text: userName(u) }), h("td", { dataset: { label: "Email" }, text: u.email }), h("td", { dataset: { label: "Role" } }, h("span", { class: u.is_admin ? "chip chip-accent" : "chip chip-muted", text: u.is_admin ? "Admin" : "Member" }))))),
        ),
      );
    } catch (err) {
      mount(people, notice("error", err.message));
    }
  }

  function drawProjects() {
    mount(
      projects,
      h("div", { class: "card-head" }, h("h2", { text: "Projects" }), h("span", { class: "muted", text: String(ctx.projects.length) })),
      ctx.projects.length
        ? h("ul", { class: "simple-list" }, ctx.projects.map((p) => h("li", {}, h("a", { href: ctx.tasksHref(p.id), text: p.name }), h("span", { class: "muted mono", text: `#${p.id}` }))))
        : empty("No projects", "Add a project below to start creating tasks."),
    );
  }

  mount(
    main,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "People & projects" }), h("p", { class: "muted", text: "Everyone here belongs to one organization and reaches all of its projects." }))),
    reveal,
    h(
      "div",
      { class: "two-col even" },
      h("div", { class: "stack" }, people, h("section", { class: "card", "aria-label": "Add a person" }, h("h2", { class: "section-title", text: "Add a person" }), userForm(added))),
      h("div", { class: "stack" }, projects, h("section", { class: "card", "aria-label": "Add a project" }, h("h2", { class: "section-title", text: "Add a project" }), projectForm(addedProject))),
    ),
  );

  function added(user) {
    mount(
      reveal,
      user.password
        ? notice("success", h("p", {}, h("strong", { text: `${user.email} added. ` }), "Give them this password; it is shown only once."), secretBox("Generated password", user.password))
        : notice("success", h("p", { text: `${user.email} added. They can sign in with the password you chose.` })),
    );
    loadPeople();
  }

  async function addedProject(project) {
    mount(reveal, notice("success", h("p", {}, h("strong", { text: `Project “${project.name}” added. ` }), h("a", { href: ctx.tasksHref(project.id), text: "Open its tasks" }))));
    await ctx.reload();
    drawProjects();
  }

  drawProjects();
  await loadPeople();
}
