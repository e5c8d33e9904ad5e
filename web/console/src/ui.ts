// Messages (the error banner and the status line), busy buttons and views.
import { ApiError, SessionEndedError } from "../../../clients/typescript/src/index";
import { $, h } from "./dom";

const STATUS_MS = 8_000; // a status message ("Device added.") clears itself after this long
let statusTimer: ReturnType<typeof setTimeout> | undefined;

/** A context for passkey errors: the same browser refusal means different things when signing in and enrolling. */
export type Ceremony = "signin" | "create" | "";
let ceremony: Ceremony = "";
export function setCeremony(c: Ceremony) {
  ceremony = c;
}

/** showView shows one of the top-level views; a view change clears the messages of the last one. */
let viewHook: () => void = () => {};
/** onViewChange sets what runs on every view change (closing the live connection). */
export function onViewChange(fn: () => void) {
  viewHook = fn;
}

export function showView(name: string) {
  clearMessages();
  viewHook();
  for (const el of document.querySelectorAll<HTMLElement>("[data-view]")) el.hidden = el.dataset.view !== name;
  $("bar-actions").hidden = name !== "console";
}

/** notify shows a status line that clears itself (or on the next action or view). */
export function notify(msg: string) {
  const el = $("status");
  el.textContent = msg;
  el.hidden = !msg;
  clearTimeout(statusTimer);
  if (msg) statusTimer = setTimeout(() => notify(""), STATUS_MS);
}

export function clearMessages() {
  notify("");
  $("error").hidden = true;
}

/** describe is an error as one line of text, for the browser's console log. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) return `ApiError ${e.status} ${e.title}: ${e.detail}${e.requestId ? ` (request ${e.requestId})` : ""}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

export interface Action {
  label: string;
  run: () => void;
}

/** showError shows an error in the banner, optionally with a next step. */
export function showError(e: unknown, action?: Action) {
  if (e instanceof SessionEndedError) return;
  console.error(`atrium console: ${describe(e)}`); // a string: an Error object logs as "JSHandle@error" over DevTools
  const fields = $("error-fields");
  const rid = $("error-request-id");
  let msg: string;
  const name = e instanceof Error ? e.name : "";
  if (e instanceof ApiError) {
    msg = e.detail || e.title || `Request failed (${e.status}).`;
    if (e.status === 429) {
      const wait = waitText(e.retryAfter);
      msg = `Too many attempts. ${wait ? `Try again in ${wait}.` : "Try again later."}`;
    }
  } else if (name === "NotAllowedError") {
    msg =
      ceremony === "signin"
        ? "No passkey was used. If you have none for Atrium yet, open the invitation link your administrator sent you to create one; otherwise try again and choose your passkey."
        : "The passkey request was cancelled or timed out.";
  } else if (name === "InvalidStateError") {
    msg = "This authenticator already holds a passkey for your account. Use another device or security key.";
  } else if (name === "SecurityError") {
    msg = "The browser refused the passkey request for this address. Open Atrium at its public URL.";
  } else {
    msg = (e instanceof Error && e.message) || "Something went wrong.";
  }
  $("error-message").textContent = msg.charAt(0).toUpperCase() + msg.slice(1);
  fields.replaceChildren(...(e instanceof ApiError ? e.errors : []).map((f) => h("li", { text: `${f.field}: ${f.message}` })));
  fields.hidden = fields.childElementCount === 0;
  rid.textContent = e instanceof ApiError && e.requestId ? `Request id: ${e.requestId}` : "";
  rid.hidden = !rid.textContent;
  const act = $<HTMLButtonElement>("error-action");
  act.hidden = !action;
  act.textContent = action ? action.label : "";
  act.onclick = action ? () => action.run() : null;
  const box = $("error");
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

/** waitText turns a Retry-After value (seconds, or an HTTP date) into words. */
export function waitText(retryAfter: string): string {
  if (!retryAfter) return "";
  let secs = /^\d+$/.test(retryAfter) ? Number(retryAfter) : Math.ceil((Date.parse(retryAfter) - Date.now()) / 1000);
  if (!Number.isFinite(secs)) return "";
  secs = Math.max(1, secs);
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (secs < 90) return unit(secs, "second");
  if (secs < 90 * 60) return unit(Math.ceil(secs / 60), "minute");
  return unit(Math.ceil(secs / 3600), "hour");
}

/** busy disables a control while fn runs, and shows fn's error. */
export async function busy(control: HTMLButtonElement | HTMLSelectElement, fn: () => Promise<unknown>) {
  if (control.disabled) return;
  clearMessages();
  control.disabled = true;
  control.setAttribute("aria-busy", "true");
  try {
    await fn();
  } catch (e) {
    showError(e);
  } finally {
    control.disabled = false;
    control.removeAttribute("aria-busy");
  }
}

/** onSubmit wires a form's submit to busy(its submit button, fn). */
export function onSubmit(form: HTMLFormElement, fn: () => Promise<unknown>) {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const btn = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (btn) void busy(btn, fn);
  });
}
