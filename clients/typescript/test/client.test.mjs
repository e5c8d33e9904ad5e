// Runs against the built client (npm run build first): node --test test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { Atrium, ApiError, SessionEndedError } from "../dist/index.js";

const tokens = (n) => ({
  access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "Bearer", expires_in: 600,
  user_id: "u", tenant_id: "t", session_id: "s",
});
const json = (status, body, headers = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json", ...headers },
  });

// fakeServer answers /me with 401 unless the bearer is the current access token.
function fakeServer() {
  const s = { current: 1, refreshes: 0, refuseRefresh: false, calls: [] };
  s.fetch = async (req) => {
    const url = new URL(req.url);
    s.calls.push(`${req.method} ${url.pathname}`);
    if (url.pathname === "/api/v1/auth/token/exchange") {
      const form = new URLSearchParams(await req.text());
      assert.equal(req.headers.get("Content-Type"), "application/x-www-form-urlencoded");
      assert.equal(req.headers.get("Authorization"), null, "the exchange is not a bearer call");
      if (s.refuseRefresh || form.get("refresh_token") !== `refresh-${s.current}`)
        return json(401, { type: "about:blank", title: "Unauthorized", status: 401, detail: "refresh token refused", request_id: "r1" });
      s.refreshes++;
      s.current++;
      return json(200, tokens(s.current));
    }
    if (url.pathname === "/api/v1/me") {
      if (req.headers.get("Authorization") !== `Bearer access-${s.current}`)
        return json(401, { type: "about:blank", title: "Unauthorized", status: 401 });
      return json(200, { user_id: "u", display_name: "Ada", tenant_id: "t", session_id: "s", permissions: ["account.manage"] });
    }
    if (url.pathname === "/api/v1/invitations")
      return json(422, { type: "about:blank", title: "Unprocessable", status: 422, detail: "bad role", request_id: "r2",
        errors: [{ field: "role_ids", message: "unknown role" }] }, { "X-Request-Id": "ignored" });
    return json(404, { type: "about:blank", title: "Not Found", status: 404 });
  };
  return s;
}

test("parallel calls after a 401 share one refresh and retry", async () => {
  const srv = fakeServer();
  const a = new Atrium({ baseUrl: "http://x/api/v1", fetch: srv.fetch });
  a.setTokens({ ...tokens(1), access_token: "stale" });
  const [m1, m2, m3] = await Promise.all([1, 2, 3].map(() => a.call((c) => c.GET("/me"))));
  assert.equal(m1.display_name, "Ada");
  assert.equal(m2.display_name, "Ada");
  assert.equal(m3.display_name, "Ada");
  assert.equal(srv.refreshes, 1, "one refresh for three callers");
  assert.equal(a.tokens().refresh_token, "refresh-2");
});

test("a refresh refused for good ends the session", async () => {
  const srv = fakeServer();
  let ended = 0;
  const a = new Atrium({ baseUrl: "http://x/api/v1", fetch: srv.fetch, onSessionEnded: () => ended++ });
  a.setTokens({ ...tokens(1), access_token: "stale" });
  srv.refuseRefresh = true;
  await assert.rejects(a.call((c) => c.GET("/me")), SessionEndedError);
  assert.equal(a.tokens(), null);
  assert.equal(ended, 1);
});

test("problem+json becomes a typed ApiError", async () => {
  const srv = fakeServer();
  const a = new Atrium({ baseUrl: "http://x/api/v1", fetch: srv.fetch });
  a.setTokens(tokens(1));
  const err = await a.call((c) => c.POST("/invitations", { body: {} })).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 422);
  assert.equal(err.detail, "bad role");
  assert.equal(err.requestId, "r2");
  assert.deepEqual(err.errors, [{ field: "role_ids", message: "unknown role" }]);
});

test("a network failure is ApiError status 0", async () => {
  const a = new Atrium({ baseUrl: "http://x/api/v1", fetch: async () => { throw new TypeError("fetch failed"); } });
  a.setTokens(tokens(1));
  const err = await a.call((c) => c.GET("/me")).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 0);
});

test("once: a 401 is not retried", async () => {
  const srv = fakeServer();
  const a = new Atrium({ baseUrl: "http://x/api/v1", fetch: srv.fetch });
  a.setTokens({ ...tokens(1), access_token: "stale" });
  const err = await a.call((c) => c.GET("/me"), { once: true }).catch((e) => e);
  assert.equal(err.status, 401);
  assert.equal(srv.refreshes, 0);
});
