// Atrium web console: passkey sign-in, enrollment from an invitation link,
// the account (devices, sessions, workspaces), and the pages the signed-in
// user's permissions allow (administration, workspace). It talks to /api/v1 on
// this origin through the generated TypeScript client (clients/typescript).
// Built by esbuild into web/static/app.js: see docs/web-console.md.
import { ApiError, SessionEndedError, type Schemas } from "../../../clients/typescript/src/index";
import { $, h, when } from "./dom";
import { pages, type Page } from "./pages";
import { atrium, can, me, onSessionEnded, setMe } from "./state";
import { closeLive } from "./workspace";
import { busy, clearMessages, notify, onSubmit, onViewChange, setCeremony, showError, showView } from "./ui";

const INVITE_KEY = "atrium.invitation";

onViewChange(closeLive);

onSessionEnded(() => {
  showView("signin");
  notify("Your session has ended. Sign in again.");
});

// ------------------------------------------------------------- WebAuthn ----

type CeremonyOptions = Schemas["CeremonyOptions"];

function passkeysSupported(): boolean {
  type Ctor = (() => void) & { parseCreationOptionsFromJSON?: unknown; parseRequestOptionsFromJSON?: unknown };
  const PKC = (window as unknown as { PublicKeyCredential?: Ctor }).PublicKeyCredential;
  return (
    window.isSecureContext &&
    typeof PKC === "function" &&
    typeof PKC.parseCreationOptionsFromJSON === "function" &&
    typeof PKC.parseRequestOptionsFromJSON === "function"
  );
}

async function createCredential(options: CeremonyOptions): Promise<Record<string, unknown>> {
  setCeremony("create");
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
    options.public_key as unknown as PublicKeyCredentialCreationOptionsJSON,
  );
  const cred = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential | null;
  if (!cred) throw new Error("No passkey was created.");
  return cred.toJSON() as unknown as Record<string, unknown>;
}

async function getCredential(options: CeremonyOptions): Promise<Record<string, unknown>> {
  setCeremony("signin");
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(
    options.public_key as unknown as PublicKeyCredentialRequestOptionsJSON,
  );
  const cred = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential | null;
  if (!cred) throw new Error("No passkey was chosen.");
  return cred.toJSON() as unknown as Record<string, unknown>;
}

// -------------------------------------------------------------- flows ----

async function signIn() {
  const options = await atrium.anonymous((c) => c.POST("/auth/device/login/options"));
  const credential = await getCredential(options);
  const tokens = await atrium.anonymous((c) =>
    c.POST("/auth/device/login", { body: { ceremony_id: options.ceremony_id, credential } }),
  );
  atrium.setTokens(tokens);
  await showConsole();
}

// invitationUnusable tells an invitation the server refused (used, revoked,
// expired, unknown) from a failure worth trying again (network, 429, 5xx).
function invitationUnusable(e: unknown): boolean {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408;
}

const toSignIn = { label: "Go to sign in", run: () => leaveEnroll() };

function leaveEnroll() {
  sessionStorage.removeItem(INVITE_KEY);
  history.replaceState(null, "", "/");
  if (atrium.tokens()) void showConsole().catch(showError);
  else showView("signin");
}

async function enroll(form: HTMLFormElement) {
  const invitation = sessionStorage.getItem(INVITE_KEY);
  const el = form.elements as unknown as Record<string, HTMLInputElement>;
  if (!invitation) {
    showError(new Error("This invitation link has already been used. Ask for a new one, or sign in."), toSignIn);
    return;
  }
  const displayName = el.display_name.value.trim();
  if (!displayName) {
    el.display_name.focus();
    throw new Error("Enter your name.");
  }
  let options: CeremonyOptions;
  try {
    options = await atrium.anonymous((c) =>
      c.POST("/auth/device/register/options", { body: { invitation, display_name: displayName } }),
    );
  } catch (e) {
    if (!invitationUnusable(e)) throw e;
    // The link is spent: say so, forget it, and offer the way on.
    sessionStorage.removeItem(INVITE_KEY);
    const detail = (e as ApiError).detail || "This invitation cannot be used.";
    const err = new ApiError({
      status: (e as ApiError).status,
      title: (e as ApiError).title,
      detail: `${detail.replace(/\.?$/, ".")} This invitation link cannot be used again: ask your administrator for a new one, or sign in if you already have a passkey.`,
      request_id: (e as ApiError).requestId,
    });
    showError(err, toSignIn);
    return;
  }
  const credential = await createCredential(options);
  const res = await atrium.anonymous((c) =>
    c.POST("/auth/device/register", {
      body: { ceremony_id: options.ceremony_id, credential, device_name: el.device_name.value.trim() || undefined },
    }),
  );
  sessionStorage.removeItem(INVITE_KEY);
  form.reset();
  history.replaceState(null, "", "/");
  if (res && res.token) {
    atrium.setTokens(res.token);
    await showConsole();
    notify("Your passkey is ready. You are signed in.");
  } else {
    showView("signin");
    notify("Your passkey is ready. Sign in with it.");
  }
}

async function addDevice(form: HTMLFormElement) {
  const input = $<HTMLInputElement>("add-device-name");
  const options = await atrium.call((c) => c.POST("/auth/device/register/options", { body: {} }));
  const credential = await createCredential(options);
  await atrium.call(
    (c) =>
      c.POST("/auth/device/register", {
        body: { ceremony_id: options.ceremony_id, credential, device_name: input.value.trim() || undefined },
      }),
    { once: true },
  );
  form.reset();
  await loadDevices();
  notify("Device added.");
}

async function signOut() {
  try {
    await atrium.signOut(); // refreshes an expired access token first, so the session really ends
  } catch (e) {
    showView("signin");
    if (e instanceof SessionEndedError) return; // it had ended already
    throw e;
  }
  showView("signin");
  notify("You are signed out.");
}

async function switchTenant(tenantId: string) {
  await atrium.switchTenant(tenantId);
  await showConsole();
  notify("Workspace switched.");
}

// ------------------------------------------------------------ console ----

let devices: Schemas["Device"][] = [];
let currentDeviceId = ""; // the device this session signed in with
let currentPage = "account";

async function showConsole() {
  const [m, tenants] = await Promise.all([atrium.call((c) => c.GET("/me")), atrium.call((c) => c.GET("/me/tenants"))]);
  setMe(m);
  $("me-name").textContent = m.display_name || "Signed in";
  const email = $("me-email");
  email.textContent = m.email || "";
  email.hidden = !m.email;
  renderTenants(tenants.items || [], m.tenant_id);
  renderNav();
  if (document.querySelector('[data-view="console"]')?.hasAttribute("hidden")) showView("console");
  await openPage(visiblePages().some((p) => p.id === currentPage) ? currentPage : "account", false);
}

function visiblePages(): Page[] {
  return pages.filter((p) => p.allowed(can));
}

function renderNav() {
  const nav = $("nav");
  const list = visiblePages();
  nav.replaceChildren(
    h(
      "button",
      { type: "button", class: "tab", testid: "nav-account", data: { page: "account" }, on: { click: () => void go("account") } },
      "Account",
    ),
    ...list.map((p) =>
      h("button", { type: "button", class: "tab", testid: `nav-${p.id}`, data: { page: p.id }, on: { click: () => void go(p.id) } }, p.title),
    ),
  );
  nav.hidden = list.length === 0;
}

async function go(id: string) {
  clearMessages();
  try {
    await openPage(id, true);
  } catch (e) {
    showError(e);
  }
}

async function openPage(id: string, focus: boolean) {
  currentPage = id;
  closeLive();
  for (const b of document.querySelectorAll<HTMLElement>('[data-testid="nav"] .tab')) {
    if (b.dataset.page === id) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  const account = $("page-account");
  const host = $("page");
  if (id === "account") {
    account.hidden = false;
    host.hidden = true;
    host.replaceChildren();
    await loadDevices(); // sessions name their device, so devices come first
    await loadSessions();
    return;
  }
  const page = visiblePages().find((p) => p.id === id);
  if (!page) return openPage("account", focus);
  account.hidden = true;
  host.hidden = false;
  host.dataset.page = id;
  const root = h("div", { testid: `page-${id}` });
  host.replaceChildren(root);
  await page.render(root, me!);
  if (focus) root.querySelector<HTMLElement>("h1")?.focus();
}

function renderTenants(items: Schemas["MyTenant"][], activeId: string) {
  const sel = $<HTMLSelectElement>("tenant-select");
  sel.replaceChildren(
    ...items.map((t) => {
      const o = h("option", { value: t.tenant_id, text: t.name });
      o.selected = Boolean(t.active) || t.tenant_id === activeId;
      return o;
    }),
  );
  sel.disabled = items.length < 2;
}

async function loadDevices() {
  const res = await atrium.call((c) => c.GET("/me/devices"));
  devices = res.items || [];
  const tpl = document.getElementById("device-item") as HTMLTemplateElement;
  $("devices-list").replaceChildren(...devices.map((d, i) => renderDevice(tpl, d, i)));
}

function renderDevice(tpl: HTMLTemplateElement, d: Schemas["Device"], i: number): HTMLElement {
  const li = tpl.content.firstElementChild!.cloneNode(true) as HTMLElement;
  li.dataset.deviceId = d.id;
  const q = <T extends HTMLElement = HTMLElement>(id: string) => $<T>(id, li);
  q("device-name").textContent = d.name || "Unnamed device";
  const bits = [`Added ${when(d.created_at)}`];
  if (d.last_used_at) bits.push(`last used ${when(d.last_used_at)}`);
  if (d.backup_state) bits.push("synced");
  q("device-meta").textContent = bits.join(" · ");

  const renameForm = q<HTMLFormElement>("device-rename-form");
  const input = q<HTMLInputElement>("device-rename-input");
  input.id = `rename-${i}`;
  const label = li.querySelector<HTMLLabelElement>('[data-role="rename-label"]')!;
  label.htmlFor = input.id;
  label.textContent = `New name for ${d.name || "this device"}`;
  q("device-rename").addEventListener("click", () => {
    input.value = d.name || "";
    renameForm.hidden = false;
    input.focus();
    input.select();
  });
  q("device-rename-cancel").addEventListener("click", () => (renameForm.hidden = true));
  onSubmit(renameForm, async () => {
    const name = input.value.trim();
    if (!name) throw new Error("Enter a name.");
    await atrium.call((c) => c.PATCH("/me/devices/{deviceId}", { params: { path: { deviceId: d.id } }, body: { name } }));
    await loadDevices();
    notify("Device renamed.");
  });

  const panel = q("device-remove-panel");
  const last = devices.length === 1;
  const close = q<HTMLInputElement>("device-close-account");
  q("device-remove").setAttribute("aria-label", `Remove ${d.name || "device"}`);
  q("device-rename").setAttribute("aria-label", `Rename ${d.name || "device"}`);
  q("device-remove").addEventListener("click", () => {
    li.querySelector('[data-role="remove-text"]')!.textContent = last
      ? "This is your only passkey. Removing it closes your account: every session ends and you can no longer sign in."
      : d.id === currentDeviceId
        ? "You signed in here with this passkey: removing it also signs you out here."
        : "Remove this passkey? Sessions opened with it end now.";
    li.querySelector<HTMLElement>('[data-role="close-label"]')!.hidden = !last;
    close.checked = false;
    q("device-remove-confirm").textContent = last ? "Remove and close account" : "Remove";
    panel.hidden = false;
  });
  q("device-remove-cancel").addEventListener("click", () => (panel.hidden = true));
  q("device-remove-confirm").addEventListener("click", (ev) =>
    busy(ev.currentTarget as HTMLButtonElement, async () => {
      if (last && !close.checked) throw new Error("Tick “Yes, close my account” to remove your only passkey.");
      await atrium.call((c) =>
        c.DELETE("/me/devices/{deviceId}", {
          params: { path: { deviceId: d.id }, query: last ? { close_account: true } : {} },
        }),
      );
      if (last) {
        atrium.clear();
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
  const res = await atrium.call((c) => c.GET("/me/sessions"));
  const names = new Map(devices.map((d) => [d.id, d.name]));
  const tpl = document.getElementById("session-item") as HTMLTemplateElement;
  const items = (res.items || []).slice().sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
  currentDeviceId = items.find((s) => s.current)?.device_id || "";
  $("sessions-list").replaceChildren(
    ...items.map((s) => {
      const li = tpl.content.firstElementChild!.cloneNode(true) as HTMLElement;
      li.dataset.sessionId = s.id;
      li.dataset.current = String(Boolean(s.current));
      const q = (id: string) => $(id, li);
      const device = (s.device_id && names.get(s.device_id)) || "Unknown device";
      q("session-title").textContent = device;
      if (s.current) q("session-title").after(h("span", { class: "badge", testid: "session-current", text: "This session" }));
      q("session-meta").textContent = `Signed in ${when(s.created_at)} · last seen ${when(s.last_seen_at)}`;
      const btn = q("session-revoke") as HTMLButtonElement;
      if (s.current) {
        // Signing out here is not a revocation of someone else: a plain button, not a red one.
        btn.textContent = "Sign out";
        btn.className = "small";
        btn.setAttribute("aria-label", "Sign out of this session");
        btn.addEventListener("click", (ev) => busy(ev.currentTarget as HTMLButtonElement, signOut));
      } else {
        btn.setAttribute("aria-label", `Revoke session on ${device}`);
        btn.addEventListener("click", (ev) =>
          busy(ev.currentTarget as HTMLButtonElement, async () => {
            await atrium.call((c) => c.DELETE("/me/sessions/{sessionId}", { params: { path: { sessionId: s.id } } }));
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
// left in history. It is deleted when the enrollment succeeds or is refused.
function takeInvitation(): boolean {
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
  return false;
}

function showEnroll() {
  showView("enroll");
  const form = $<HTMLFormElement>("enroll-form");
  form.reset(); // a new invitation starts from an empty form
  // Signed in already: the invitation is accepted by this account
  // (POST /me/invitations/accept), never enrolled as a second person.
  const signedIn = atrium.tokens() !== null;
  form.hidden = signedIn;
  $("enroll-signin-hint").hidden = signedIn;
  $("enroll-join").hidden = !signedIn;
  if (signedIn) $("enroll-join-button").focus();
  else $("enroll-display-name").focus();
}

// joinTenant accepts the invitation in this tab for the signed-in account,
// then switches to the workspace it joined.
async function joinTenant() {
  const invitation = sessionStorage.getItem(INVITE_KEY);
  if (!invitation) {
    showError(new Error("This invitation link has already been used. Ask for a new one."));
    return;
  }
  let joined;
  try {
    joined = await atrium.call((c) => c.POST("/me/invitations/accept", { body: { invitation } }));
  } catch (e) {
    if (e instanceof ApiError && e.status !== 0 && e.status < 500) sessionStorage.removeItem(INVITE_KEY);
    throw e;
  }
  sessionStorage.removeItem(INVITE_KEY);
  history.replaceState(null, "", "/");
  await switchTenant(joined.tenant.tenant_id);
  notify(`You joined ${joined.tenant.name}.`);
}

function wire() {
  $("error-dismiss").addEventListener("click", () => ($("error").hidden = true));
  $("signin-button").addEventListener("click", (ev) => busy(ev.currentTarget as HTMLButtonElement, signIn));
  const enrollForm = $<HTMLFormElement>("enroll-form");
  onSubmit(enrollForm, () => enroll(enrollForm));
  $("enroll-signin").addEventListener("click", () => leaveEnroll());
  $("enroll-join-button").addEventListener("click", (ev) => busy(ev.currentTarget as HTMLButtonElement, joinTenant));
  $("enroll-join-signout").addEventListener("click", (ev) =>
    busy(ev.currentTarget as HTMLButtonElement, async () => {
      await signOut();
      if (sessionStorage.getItem(INVITE_KEY)) showEnroll(); // the invitation is still in this tab
    }),
  );
  const addForm = $<HTMLFormElement>("add-device-form");
  onSubmit(addForm, () => addDevice(addForm));
  $("signout-button").addEventListener("click", (ev) => busy(ev.currentTarget as HTMLButtonElement, signOut));
  $("refresh-button").addEventListener("click", (ev) => busy(ev.currentTarget as HTMLButtonElement, showConsole));
  const sel = $<HTMLSelectElement>("tenant-select");
  sel.addEventListener("change", () => {
    void busy(sel, () => switchTenant(sel.value)).then(() => {
      const t = atrium.tokens();
      if (t) for (const o of sel.options) o.selected = o.value === t.tenant_id;
    });
  });
  window.addEventListener("hashchange", () => {
    if (takeInvitation()) showEnroll();
  });
}

async function start() {
  wire();
  if (!passkeysSupported()) {
    showView("unsupported");
    return;
  }
  const hadLink = location.hash.replace(/^#/, "").startsWith("/enroll");
  if (takeInvitation()) {
    // An invitation wins over a stored session: it may be for another person.
    showEnroll();
    return;
  }
  if (!atrium.tokens()) {
    showView("signin");
    if (hadLink) notify("This invitation link has been used already, or is incomplete. Sign in, or ask for a new link.");
    return;
  }
  atrium.resume();
  try {
    await showConsole();
  } catch (e) {
    if (!(e instanceof SessionEndedError)) {
      showView("signin");
      showError(e);
    }
  }
}

void start();
