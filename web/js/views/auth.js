// Signing in, and creating the first (administrator) account on a fresh server.

import { post } from "../api.js";
import { h, mount, field, showError } from "../dom.js";

function authPage(root, title, intro, form) {
  document.title = `${title} · Burrow`;
  mount(
    root,
    h(
      "main",
      { class: "auth-page" },
      h(
        "div",
        { class: "auth-card" },
        h("div", { class: "auth-brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Burrow"),
        h("h1", { text: title }),
        h("p", { class: "muted", text: intro }),
        form,
      ),
    ),
  );
  const first = [...form.querySelectorAll("input")].find((i) => i.offsetParent !== null);
  if (first) first.focus();
}

function input(name, type, autocomplete, extra = {}) {
  return h("input", { name, type, autocomplete, required: true, ...extra });
}

/** Sends the form; on success reloads the page, now signed in. */
function submitter(form, button, path, body, failure) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const message = form.querySelector(".form-message");
    message.hidden = true;
    button.disabled = true;
    try {
      await post(path, body());
      location.assign(location.pathname + location.search);
    } catch (err) {
      button.disabled = false;
      failure(err, message);
    }
  });
}

/** The one-time token of the setup link (`/setup#token=…`), taken out of the address bar. */
function tokenFromLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

export function setupView(root, state = {}) {
  if (state.password_login === false) return setupWithoutPasswords(root, state);
  const button = h("button", { type: "submit", class: "button primary wide", text: "Create account and sign in" });
  const guarded = state.setup_token_required === true;
  // On a network address the server printed a one-time link; its token is the only way in.
  const token = guarded ? tokenFromLink() : "";
  const tokenField = guarded
    ? field(
        "Setup token",
        input("setup_token", "password", "off", { value: token, maxlength: 64 }),
        token ? "From the setup link." : "Open the setup link that `burrow serve` printed on its console, or paste its token (after #token=) here.",
      )
    : null;
  if (tokenField && token) tokenField.hidden = true;
  const form = h(
    "form",
    { class: "form", novalidate: false },
    tokenField,
    h("div", { class: "field-row" }, field("First name", h("input", { name: "first_name", autocomplete: "given-name" })), field("Last name", h("input", { name: "last_name", autocomplete: "family-name" }))),
    field("Email", input("email", "email", "email")),
    field("Password", input("password", "password", "new-password", { minlength: 8 }), "At least 8 characters."),
    h("div", { class: "notice notice-error form-message", role: "alert", hidden: true }),
    button,
  );
  const value = (n) => form.elements[n].value;
  submitter(
    form,
    button,
    "/auth/setup",
    () => ({
      email: value("email").trim(),
      password: value("password"),
      first_name: value("first_name").trim(),
      last_name: value("last_name").trim(),
      ...(guarded ? { setup_token: value("setup_token").trim() } : {}),
    }),
    (err, message) => {
      // A refused token: show its field, whatever the link said.
      if (tokenField && err.status === 403) tokenField.hidden = false;
      showError(form, err, message);
    },
  );
  const sso = ssoPart(state);
  const page = sso ? h("div", {}, sso, h("p", { class: "muted sso-or", text: "or create the administrator's account" }), form) : form;
  authPage(root, "Welcome to Burrow", "This server has no accounts yet. Create the first one: it will be the administrator, who can add people and projects.", page);
}

// With password sign-in off, the first administrator is not made here: single sign-on with an
// address in --oidc-admin-emails, or `burrow user create --admin` on the server.
function setupWithoutPasswords(root, state) {
  const sso = ssoPart(state);
  const how = h("p", { class: "muted" }, "Password sign-in is off on this server. The first administrator ", sso ? "signs in with single sign-on, with an address the server lists in --oidc-admin-emails, or " : "", "is made on the server with ", h("code", { text: "burrow user create --admin" }), ".");
  authPage(root, "Welcome to Burrow", "This server has no accounts yet.", sso ? h("div", {}, sso, how) : how);
}

/** Why the provider's round trip was refused (`?sso_error=CODE` from the callback). */
const SSO_ERRORS = {
  sso_state: "The sign-in could not be matched to this browser (it expired, was used already, or was started elsewhere). Try again.",
  sso_provider: "The sign-in provider could not be reached or refused the sign-in.",
  sso_code: "The provider refused the sign-in code (it may have been used already). Try again.",
  sso_signature: "The provider's answer was not signed by the provider's key.",
  sso_issuer: "The provider's answer came from another issuer.",
  sso_audience: "The provider's answer was meant for another application.",
  sso_expired: "The provider's answer has expired. Try again.",
  sso_nonce: "The provider's answer does not belong to this sign-in.",
  sso_token: "The provider's answer could not be checked.",
  sso_unverified_email: "Your email address is not verified at the provider.",
  sso_domain: "Your email domain is not allowed to sign in to this server.",
  sso_first_account: "The first account of this server must be created by its administrator.",
};

/** The "Sign in with …" button, and the message of a refused single sign-on, if any. */
function ssoPart(state) {
  if (!state.sso) return null;
  const code = new URLSearchParams(location.search).get("sso_error");
  if (code) history.replaceState(null, "", location.pathname + location.hash);
  const message = code ? SSO_ERRORS[code] || "The single sign-on was refused." : "";
  return h(
    "div",
    { class: "sso" },
    h("div", { class: "notice notice-error sso-message", role: "alert", hidden: !code, text: message }),
    h("a", { class: "button primary wide sso-button", href: state.sso.start_url, text: `Sign in with ${state.sso.name}` }),
  );
}

export function loginView(root, state = {}) {
  const sso = ssoPart(state);
  if (state.password_login === false) {
    const page = h("div", { class: "form" }, sso || h("p", { text: "Password sign-in is turned off, and no single sign-on is set up." }));
    authPage(root, "Sign in", "Sign in to see your team's tasks and agent runs.", page);
    return;
  }
  const button = h("button", { type: "submit", class: "button primary wide", text: "Sign in" });
  const form = h(
    "form",
    { class: "form" },
    field("Email", input("email", "email", "username")),
    field("Password", input("password", "password", "current-password")),
    h("div", { class: "notice notice-error form-message", role: "alert", hidden: true }),
    button,
  );
  let timer = null;
  submitter(
    form,
    button,
    "/auth/login",
    () => ({ email: form.elements.email.value.trim(), password: form.elements.password.value }),
    (err, message) => {
      if (err.status === 429) {
        let left = err.retryAfter || 1;
        const say = () => {
          message.textContent = `Too many failed sign-ins. Wait ${left} second${left === 1 ? "" : "s"} before trying again.`;
        };
        say();
        button.disabled = true;
        clearInterval(timer);
        timer = setInterval(() => {
          left -= 1;
          if (left <= 0) {
            clearInterval(timer);
            message.textContent = "You can try again now.";
            button.disabled = false;
          } else say();
        }, 1000);
      } else if (err.status === 401) {
        message.textContent = "That email and password do not match an account. Check them and try again.";
        form.elements.password.select();
      } else {
        message.textContent = err.message;
      }
      message.hidden = false;
    },
  );
  const page = sso ? h("div", {}, sso, h("p", { class: "muted sso-or", text: "or with your password" }), form) : form;
  authPage(root, "Sign in", "Sign in to see your team's tasks and agent runs.", page);
}

