// History routing: patterns like "/projects/:pid/tasks/:tid", same-origin link clicks
// handled in the page, and a cleanup hook so a page can close its streams when left.

const routes = [];
let current = null;
let renderRoute = null;

/** Registers a view for a path pattern. */
export function route(pattern, view) {
  const names = [];
  const re = new RegExp(
    `^${pattern.replace(/:[a-z]+/g, (m) => {
      names.push(m.slice(1));
      return "([^/]+)";
    })}/?$`,
  );
  routes.push({ re, names, view });
}

export function match(pathname) {
  for (const r of routes) {
    const m = r.re.exec(pathname);
    if (m) {
      const params = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      return { view: r.view, params };
    }
  }
  return null;
}

/** Goes to a path inside the app. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

/** Changes the query string without re-rendering (for filters and paging). */
export function setQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, "", `${location.pathname}${s ? `?${s}` : ""}`);
}

function render() {
  if (current && current.cleanup) current.cleanup();
  current = { cleanup: null };
  const page = current;
  renderRoute(location.pathname, new URLSearchParams(location.search), (fn) => (page.cleanup = fn));
}

/** Starts routing; `onRoute(pathname, query, onLeave)` draws the page. */
export function start(onRoute) {
  renderRoute = onRoute;
  window.addEventListener("popstate", render);
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download") || a.getAttribute("href").startsWith("#")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api") || url.pathname.startsWith("/_")) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  render();
}
