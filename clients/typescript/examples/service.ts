// The docs/api.md "A TypeScript service" example; `npm run build`
// type-checks it (tsconfig.examples.json). A backend service authenticates
// as a service account: it signs an RFC 7523 assertion with its own private
// key (ES256 here, through WebCrypto) and exchanges it at /auth/token for a
// short-lived access token. There is no refresh token: when the token is
// about to expire, it signs a new assertion.
import createClient from "openapi-fetch";
import type { components, paths } from "../src/index";

type TokenResponse = components["schemas"]["ServiceAccountTokenResponse"];
// A refusal (400/401) is an OAuth error that is also a problem; 429 and 503 are problems.
type TokenError = components["schemas"]["ServiceAccountTokenError"];
type Problem = components["schemas"]["Problem"];

export interface ServiceAccount {
  baseUrl: string; // e.g. https://atrium.example.com
  accountId: string; // iss and sub of the assertions
  keyId: string; // the kid Atrium gave the registered public key
  privateKeyPkcs8: ArrayBuffer; // the ES256 (P-256) private key, PKCS #8 DER
}

const b64url = (b: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(b as ArrayBuffer)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const utf8 = (s: string) => new TextEncoder().encode(s);

/** assertion signs a fresh assertion: aud = the token endpoint, 60 s, new jti. */
export async function assertion(sa: ServiceAccount, key: CryptoKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "ES256", typ: "JWT", kid: sa.keyId };
  const claims = {
    iss: sa.accountId,
    sub: sa.accountId,
    aud: `${sa.baseUrl.replace(/\/$/, "")}/api/v1/auth/token`,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
  };
  const input = `${b64url(utf8(JSON.stringify(header)))}.${b64url(utf8(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is r || s, which is what JWS ES256 wants.
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, utf8(input));
  return `${input}.${b64url(sig)}`;
}

/** serviceClient is a typed client whose every call carries a valid token. */
export async function serviceClient(sa: ServiceAccount) {
  const key = await crypto.subtle.importKey("pkcs8", sa.privateKeyPkcs8, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  let token: { value: string; expiresAt: number } | null = null;

  async function accessToken(): Promise<string> {
    if (token && Date.now() < token.expiresAt - 30_000) return token.value;
    const res = await fetch(`${sa.baseUrl.replace(/\/$/, "")}/api/v1/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: await assertion(sa, key),
      }),
    });
    if (!res.ok) {
      const e = (await res.json().catch(() => ({}))) as Partial<TokenError & Problem>;
      throw new Error(`token endpoint: HTTP ${res.status}: ${e.error ?? e.title}: ${e.error_description ?? e.detail} (request ${e.request_id})`);
    }
    const t = (await res.json()) as TokenResponse;
    token = { value: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 };
    return token.value;
  }

  const client = createClient<paths>({ baseUrl: `${sa.baseUrl.replace(/\/$/, "")}/api/v1` });
  client.use({
    onRequest: async ({ request }) => {
      request.headers.set("Authorization", `Bearer ${await accessToken()}`);
      return request;
    },
  });
  return client;
}

export async function nightlyReport(sa: ServiceAccount) {
  const client = await serviceClient(sa);
  const { data, error } = await client.POST("/conversations", { body: { title: "Nightly report" } });
  if (error) throw new Error(`${error.status} ${error.title}: ${error.detail ?? ""}`);
  console.log("created", data.id);
}
