// The API client and what the console knows about the signed-in user.
import { Atrium, type Schemas, type StoredTokens, type TokenStore } from "../../../clients/typescript/src/index";

const STORE_KEY = "atrium.session";

// The session lives in sessionStorage: it survives a reload, is per tab, is
// gone when the tab closes, and is never sent automatically (no CSRF). Any
// script on this origin could read it, which is why the page loads nothing
// but its own files under a strict CSP. See docs/web-console.md.
const sessionStore: TokenStore = {
  load() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null") as StoredTokens | null;
      return s && s.access_token && s.refresh_token ? s : null;
    } catch {
      return null;
    }
  },
  save(t) {
    if (t) sessionStorage.setItem(STORE_KEY, JSON.stringify(t));
    else sessionStorage.removeItem(STORE_KEY);
  },
};

let ended: () => void = () => {};
/** onSessionEnded sets what happens when the server refuses the session for good. */
export function onSessionEnded(fn: () => void) {
  ended = fn;
}

export const atrium = new Atrium({
  baseUrl: `${location.origin}/api/v1`,
  store: sessionStore,
  autoRefresh: true,
  onSessionEnded: () => ended(),
});

export let me: Schemas["Me"] | null = null;
export function setMe(m: Schemas["Me"] | null) {
  me = m;
}

/**
 * can tells whether the signed-in user holds a permission in the active
 * tenant, as GET /me lists them ("*" and "resource.*" are wildcards). It only
 * decides what the console shows: the server checks every call anyway.
 */
export function can(perm: string): boolean {
  if (!me) return false;
  const resource = perm.split(".")[0];
  return me.permissions.some((p) => p === "*" || p === perm || p === `${resource}.*`);
}
