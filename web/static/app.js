// Atrium web console: passkey sign-in, enrollment from an invitation link,
// devices and sessions. Plain ES module, no dependencies; it talks to the API
// at /api/v1 on this origin. The DOM is built with textContent and
// createElement only (the CSP enforces Trusted Types, so innerHTML would throw).

const API = "/api/v1";
const STORE_KEY = "atrium.session";
const INVITE_KEY = "atrium.invitation";
const REFRESH_EARLY_MS = 60_000; // refresh this long before the access token expires (at most a fifth of its life)

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

// ---------------------------------------------------------------- tokens ----

// The session lives in sessionStorage: it survives a reload, is per tab, is
// gone when the tab closes, and is never sent automatically (no CSRF). Any
// script on this origin could read it, which is why the page loads nothing
// but its own files under a strict CSP. See docs/web-console.md.
let session = loadSession();
let refreshTimer = 0;
let refreshing = null; // the refresh in flight, shared by every caller

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    return s && s.access_token && s.refresh_token ? s : null;
  } catch {
    return null;
  }
}

function saveTokens(t) {
  session = {
    access_token: t.access_token,
    refresh_token: t.refresh_token,
    expires_at: Date.now() + (t.expires_in || 0) * 1000,
    lifetime_ms: (t.expires_in || 0) * 1000,
    user_id: t.user_id,
    tenant_id: t.tenant_id,
    session_id: t.session_id,
  };
  sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
  scheduleRefresh();
}

function clearSession() {
  session = null;
  sessionStorage.removeItem(STORE_KEY);
  clearTimeout(refreshTimer);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5_000, session.expires_at - Date.now() - refreshEarly());
  refreshTimer = setTimeout(() => {
    refresh().catch((e) => {
      if (refreshRefused(e)) sessionEnded();
    });
  }, wait);
}

// refreshEarly is how long before expiry the access token is renewed.
function refreshEarly() {
  return Math.min(REFRESH_EARLY_MS, (session.lifetime_ms || REFRESH_EARLY_MS * 5) / 5);
}

// refresh rotates the refresh token. Refresh tokens are single-use and a
// replayed one ends the session, so concurrent callers share one request.
function refresh() {
  if (!session) return Promise.reject(new ApiError({ status: 401, title: "Signed out" }));
  if (!refreshing) {
    const presented = session.refresh_token;
    refreshing = request("POST", "/auth/token/exchange", {
      form: { grant_type: "refresh_token", refresh_token: presented },
    })
      .then((t) => {
        if (session && session.refresh_token === presented) saveTokens(t);
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

// ------------------------------------------------------------------- API ----

class ApiError extends Error {
  constructor(p, retryAfter = "") {
    super(p.detail || p.title || `HTTP ${p.status}`);
    this.status = p.status;
    this.title = p.title || "";
    this.detail = p.detail || "";
    this.requestId = p.request_id || "";
    this.errors = Array.isArray(p.errors) ? p.errors : [];
    this.retryAfter = retryAfter;
  }
}

// request performs one call. opts: json (a body to send as JSON), form (an
// object sent as application/x-www-form-urlencoded), auth (send the bearer).
async function request(method, path, opts = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(opts.form).toString();
  }
  if (opts.auth) headers.Authorization = `Bearer ${session.access_token}`;
  let res;
  try {
    res = await fetch(API + path, { method, headers, body, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError({ status: 0, title: "Network error", detail: "Atrium could not be reached. Check your connection and try again." });
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const p = data && typeof data === "object" ? data : {};
    throw new ApiError(
      {
        status: res.status,
        title: p.title || res.statusText,
        detail: p.detail,
        request_id: p.request_id || res.headers.get("X-Request-Id") || "",
        errors: p.errors,
      },
      res.headers.get("Retry-After") || "",
    );
  }
  return data;
}

// api is request with the bearer token: it refreshes shortly before expiry,
// and once more (then retries) when the server answers 401 — unless
// opts.once: a ceremony's finish is single-use, and its own 401 ("could not
// be verified") must reach the user, not a retry's "ceremony already used".
async function api(method, path, opts = {}) {
  if (!session) throw new ApiError({ status: 401, title: "Signed out" });
  if (session.expires_at - Date.now() < refreshEarly() / 2) await refreshOrEnd();
  try {
    return await request(method, path, { ...opts, auth: true });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401 || opts.once) throw e;
    await refreshOrEnd();
    return request(method, path, { ...opts, auth: true });
  }
}

async function refreshOrEnd() {
  try {
    await refresh();
  } catch (e) {
    if (refreshRefused(e)) {
      sessionEnded();
      throw new SignedOut();
    }
    throw e;
  }
}

// refreshRefused tells a refresh the server refused for good (the session was
// revoked or expired, the token replayed) from one worth retrying later
// (network down, 429, 5xx).
function refreshRefused(e) {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408;
}

class SignedOut extends Error {}

function sessionEnded() {
  clearSession();
  showView("signin");
  notify("Your session has ended. Sign in again.");
}

// ------------------------------------------------------------- WebAuthn ----

function passkeysSupported() {
  return (
    window.isSecureContext &&
    typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function"
  );
}

async function createCredential(options) {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.public_key);
  const cred = await navigator.credentials.create({ publicKey });
  if (!cred) throw new Error("No passkey was created.");
  return cred.toJSON();
}

async function getCredential(options) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.public_key);
  const cred = await navigator.credentials.get({ publicKey });
  if (!cred) throw new Error("No passkey was chosen.");
  return cred.toJSON();
}

// ------------------------------------------------------------------- UI ----

function showView(name) {
  for (const el of document.querySelectorAll("[data-view]")) el.hidden = el.dataset.view !== name;
  $("bar-actions").hidden = name !== "console";
}

function notify(msg) {
  const el = $("status");
  el.textContent = msg;
  el.hidden = !msg;
}

function clearMessages() {
  notify("");
  $("error").hidden = true;
}

function showError(e) {
  if (e instanceof SignedOut) return;
  console.error(e);
  const box = $("error");
  const fields = $("error-fields");
  const rid = $("error-request-id");
  let msg;
  if (e instanceof ApiError) {
    msg = e.detail || e.title || `Request failed (${e.status}).`;
    if (e.status === 429) {
      const wait = waitText(e.retryAfter);
      msg = `Too many attempts. ${wait ? `Try again in ${wait}.` : "Try again later."}`;
    }
  } else if (e && e.name === "NotAllowedError") {
    msg = "The passkey request was cancelled or timed out.";
  } else if (e && e.name === "InvalidStateError") {
    msg = "This authenticator already holds a passkey for your account. Use another device or security key.";
  } else if (e && e.name === "SecurityError") {
    msg = "The browser refused the passkey request for this address. Open Atrium at its public URL.";
  } else {
    msg = (e && e.message) || "Something went wrong.";
  }
  $("error-message").textContent = msg.charAt(0).toUpperCase() + msg.slice(1);
  fields.replaceChildren(
    ...(e instanceof ApiError ? e.errors : []).map((f) => {
      const li = document.createElement("li");
      li.textContent = `${f.field}: ${f.message}`;
      return li;
    }),
  );
  fields.hidden = fields.childElementCount === 0;
  rid.textContent = e instanceof ApiError && e.requestId ? `Request id: ${e.requestId}` : "";
  rid.hidden = !rid.textContent;
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

// waitText turns a Retry-After value (seconds, or an HTTP date) into words.
function waitText(retryAfter) {
  if (!retryAfter) return "";
  let secs = /^\d+$/.test(retryAfter) ? Number(retryAfter) : Math.ceil((Date.parse(retryAfter) - Date.now()) / 1000);
  if (!Number.isFinite(secs)) return "";
  secs = Math.max(1, secs);
  const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (secs < 90) return unit(secs, "second");
  if (secs < 90 * 60) return unit(Math.ceil(secs / 60), "minute");
  return unit(Math.ceil(secs / 3600), "hour");
}

// busy disables a control while fn runs, and shows fn's error.
async function busy(button, fn) {
  if (button.disabled) return;
  clearMessages();
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await fn();
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

const thisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const otherYear = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const when = (s) => {
  if (!s) return "";
  const d = new Date(s);
  return (d.getFullYear() === new Date().getFullYear() ? thisYear : otherYear).format(d);
};

// -------------------------------------------------------------- flows ----

async function signIn() {
  const options = await request("POST", "/auth/device/login/options");
  const credential = await getCredential(options);
  const tokens = await request("POST", "/auth/device/login", {
    json: { ceremony_id: options.ceremony_id, credential },
  });
  saveTokens(tokens);
  await showConsole();
}

async function enroll(form) {
  const invitation = sessionStorage.getItem(INVITE_KEY);
  if (!invitation) throw new Error("This invitation link has already been used. Ask for a new one, or sign in.");
  const displayName = form.elements.display_name.value.trim();
  if (!displayName) {
    form.elements.display_name.focus();
    throw new Error("Enter your name.");
  }
  const options = await request("POST", "/auth/device/register/options", {
    json: { invitation, display_name: displayName },
  });
  const credential = await createCredential(options);
  const res = await request("POST", "/auth/device/register", {
    json: { ceremony_id: options.ceremony_id, credential, device_name: form.elements.device_name.value.trim() || undefined },
  });
  sessionStorage.removeItem(INVITE_KEY);
  history.replaceState(null, "", "/");
  if (res && res.token) {
    saveTokens(res.token);
    await showConsole();
    notify("Your passkey is ready. You are signed in.");
  } else {
    showView("signin");
    notify("Your passkey is ready. Sign in with it.");
  }
}

async function addDevice(form) {
  const input = $("add-device-name");
  const options = await api("POST", "/auth/device/register/options", { json: {} });
  const credential = await createCredential(options);
  await api("POST", "/auth/device/register", {
    json: { ceremony_id: options.ceremony_id, credential, device_name: input.value.trim() || undefined },
    once: true,
  });
  form.reset();
  await loadDevices();
  notify("Device added.");
}

async function signOut() {
  try {
    await api("POST", "/auth/logout"); // refreshes an expired access token first, so the session really ends
  } catch (e) {
    if (e instanceof SignedOut) return; // it had ended already
    clearSession();
    showView("signin");
    throw e;
  }
  clearSession();
  showView("signin");
  notify("You are signed out.");
}

// switchTenant moves the session to another workspace (RFC 8693 token
// exchange). The access token is the subject, so it is refreshed first when
// it is about to expire, and once more if the server answers 401.
async function switchTenant(tenantId) {
  const exchange = () =>
    request("POST", "/auth/token/exchange", {
      form: {
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: session.access_token,
        subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
        tenant_id: tenantId,
      },
    });
  if (session.expires_at - Date.now() < refreshEarly() / 2) await refreshOrEnd();
  let tokens;
  try {
    tokens = await exchange();
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    await refreshOrEnd();
    tokens = await exchange();
  }
  saveTokens(tokens);
  await showConsole();
  notify("Workspace switched.");
}

// ------------------------------------------------------------ console ----

let devices = [];
let currentDeviceId = ""; // the device this session signed in with

async function showConsole() {
  const [me, tenants] = await Promise.all([api("GET", "/me"), api("GET", "/me/tenants")]);
  $("me-name").textContent = me.display_name || "Signed in";
  const email = $("me-email");
  email.textContent = me.email || "";
  email.hidden = !me.email;
  renderTenants(tenants.items || [], me.tenant_id);
  showView("console");
  await loadDevices(); // sessions name their device, so devices come first
  await loadSessions();
}

function renderTenants(items, activeId) {
  const select = $("tenant-select");
  select.replaceChildren(
    ...items.map((t) => {
      const o = document.createElement("option");
      o.value = t.tenant_id;
      o.textContent = t.name;
      o.selected = t.active || t.tenant_id === activeId;
      return o;
    }),
  );
  select.disabled = items.length < 2;
}

async function loadDevices() {
  const res = await api("GET", "/me/devices");
  devices = res.items || [];
  const tpl = document.getElementById("device-item");
  $("devices-list").replaceChildren(...devices.map((d, i) => renderDevice(tpl, d, i)));
}

function renderDevice(tpl, d, i) {
  const li = tpl.content.firstElementChild.cloneNode(true);
  li.dataset.deviceId = d.id;
  const q = (id) => li.querySelector(`[data-testid="${id}"]`);
  q("device-name").textContent = d.name || "Unnamed device";
  const bits = [`Added ${when(d.created_at)}`];
  if (d.last_used_at) bits.push(`last used ${when(d.last_used_at)}`);
  if (d.backup_state) bits.push("synced");
  q("device-meta").textContent = bits.join(" · ");

  const renameForm = q("device-rename-form");
  const input = q("device-rename-input");
  input.id = `rename-${i}`;
  const label = li.querySelector('[data-role="rename-label"]');
  label.htmlFor = input.id;
  label.textContent = `New name for ${d.name || "this device"}`;
  q("device-rename").addEventListener("click", () => {
    input.value = d.name || "";
    renameForm.hidden = false;
    input.focus();
    input.select();
  });
  q("device-rename-cancel").addEventListener("click", () => (renameForm.hidden = true));
  renameForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(q("device-rename-save"), async () => {
      const name = input.value.trim();
      if (!name) throw new Error("Enter a name.");
      await api("PATCH", `/me/devices/${encodeURIComponent(d.id)}`, { json: { name } });
      await loadDevices();
      notify("Device renamed.");
    });
  });

  const panel = q("device-remove-panel");
  const last = devices.length === 1;
  const close = q("device-close-account");
  q("device-remove").setAttribute("aria-label", `Remove ${d.name || "device"}`);
  q("device-rename").setAttribute("aria-label", `Rename ${d.name || "device"}`);
  q("device-remove").addEventListener("click", () => {
    li.querySelector('[data-role="remove-text"]').textContent = last
      ? "This is your only passkey. Removing it closes your account: every session ends and you can no longer sign in."
      : d.id === currentDeviceId
        ? "You signed in here with this passkey: removing it also signs you out here."
        : "Remove this passkey? Sessions opened with it end now.";
    li.querySelector('[data-role="close-label"]').hidden = !last;
    close.checked = false;
    q("device-remove-confirm").textContent = last ? "Remove and close account" : "Remove";
    panel.hidden = false;
  });
  q("device-remove-cancel").addEventListener("click", () => (panel.hidden = true));
  q("device-remove-confirm").addEventListener("click", (ev) =>
    busy(ev.currentTarget, async () => {
      if (last && !close.checked) throw new Error("Tick “Yes, close my account” to remove your only passkey.");
      await api("DELETE", `/me/devices/${encodeURIComponent(d.id)}${last ? "?close_account=true" : ""}`);
      if (last) {
        clearSession();
        showView("signin");
        notify("Your passkey was removed and your account closed.");
        return;
      }
      await loadDevices();
      await loadSessions();
      notify("Device removed.");
    }),
  );
  return li;
}

async function loadSessions() {
  const res = await api("GET", "/me/sessions");
  const names = new Map(devices.map((d) => [d.id, d.name]));
  const tpl = document.getElementById("session-item");
  const items = (res.items || []).slice().sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
  currentDeviceId = (items.find((s) => s.current) || {}).device_id || "";
  $("sessions-list").replaceChildren(
    ...items.map((s) => {
      const li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.sessionId = s.id;
      li.dataset.current = String(Boolean(s.current));
      const q = (id) => li.querySelector(`[data-testid="${id}"]`);
      const device = (s.device_id && names.get(s.device_id)) || "Unknown device";
      q("session-title").textContent = s.current ? `${device} (this session)` : device;
      q("session-meta").textContent = `Signed in ${when(s.created_at)} · last seen ${when(s.last_seen_at)}`;
      const btn = q("session-revoke");
      if (s.current) {
        btn.textContent = "Sign out";
        btn.setAttribute("aria-label", "Sign out of this session");
        btn.addEventListener("click", (ev) => busy(ev.currentTarget, signOut));
      } else {
        btn.setAttribute("aria-label", `Revoke session on ${device}`);
        btn.addEventListener("click", (ev) =>
          busy(ev.currentTarget, async () => {
            await api("DELETE", `/me/sessions/${encodeURIComponent(s.id)}`);
            await loadSessions();
            notify("Session revoked.");
          }),
        );
      }
      return li;
    }),
  );
}

// ---------------------------------------------------------------- start ----

// takeInvitation moves an invitation token from the URL fragment
// (#/enroll?invitation=…) into this tab's sessionStorage and removes it from
// the address bar and history at once, so it is not shared, bookmarked or
// left in history. It is deleted when the enrollment succeeds.
function takeInvitation() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash.startsWith("/enroll")) return false;
  const q = new URLSearchParams(hash.slice(hash.indexOf("?") + 1 || hash.length));
  const token = q.get("invitation");
  if (token) sessionStorage.setItem(INVITE_KEY, token);
  if (sessionStorage.getItem(INVITE_KEY)) {
    history.replaceState(null, "", "/#/enroll");
    return true;
  }
  history.replaceState(null, "", "/");
  notify("This invitation link has been used already, or is incomplete. Sign in, or ask for a new link.");
  return false;
}

function showEnroll() {
  showView("enroll");
  $("enroll-display-name").focus();
}

function wire() {
  $("error-dismiss").addEventListener("click", () => ($("error").hidden = true));
  $("signin-button").addEventListener("click", (ev) => busy(ev.currentTarget, signIn));
  $("enroll-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("enroll-submit"), () => enroll(ev.currentTarget));
  });
  $("add-device-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("add-device-submit"), () => addDevice(ev.currentTarget));
  });
  $("signout-button").addEventListener("click", (ev) => busy(ev.currentTarget, signOut));
  $("refresh-button").addEventListener("click", (ev) => busy(ev.currentTarget, showConsole));
  $("tenant-select").addEventListener("change", (ev) => {
    const select = ev.currentTarget;
    busy(select, () => switchTenant(select.value)).then(() => {
      if (session) renderTenantsSelection(select);
    });
  });
  window.addEventListener("hashchange", () => {
    if (takeInvitation()) showEnroll();
  });
}

function renderTenantsSelection(select) {
  for (const o of select.options) o.selected = o.value === session.tenant_id;
}

async function start() {
  wire();
  if (!passkeysSupported()) {
    showView("unsupported");
    return;
  }
  if (takeInvitation()) {
    // An invitation wins over a stored session: it may be for another person.
    showEnroll();
    return;
  }
  if (!session) {
    showView("signin");
    return;
  }
  scheduleRefresh();
  try {
    await showConsole();
  } catch (e) {
    if (!(e instanceof SignedOut)) {
      showView("signin");
      showError(e);
    }
  }
}

start();
