// Atrium API client: the generated types (schema.ts, from openapi.yaml by
// openapi-typescript) and openapi-fetch's typed fetch, plus what every caller
// needs and the generator does not give: bearer tokens that refresh
// themselves (single-use refresh tokens, so concurrent callers share one
// refresh), tenant switching (RFC 8693 token exchange), and problem+json
// errors as a typed ApiError.
//
//   const atrium = new Atrium({ baseUrl: "https://atrium.example.com/api/v1" });
//   atrium.setTokens(tokensFromSignIn);
//   const me = await atrium.call((c) => c.GET("/me"));
//   const doc = await atrium.call((c) => c.POST("/documents", { body: { title: "Notes", content: "…" } }));
import createClient, { type Client } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];
export type TokenResponse = Schemas["TokenResponse"];
export type AtriumClient = Client<paths>;

/** ApiError is a failed call: the server's problem+json, or status 0 when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string;
  readonly errors: FieldError[];
  /** The Retry-After header (seconds or an HTTP date), on 429 and 503. */
  readonly retryAfter: string;

  constructor(p: Partial<Problem> & { status: number }, retryAfter = "") {
    super(p.detail || p.title || `HTTP ${p.status}`);
    this.name = "ApiError";
    this.status = p.status;
    this.type = p.type || "about:blank";
    this.title = p.title || "";
    this.detail = p.detail || "";
    this.requestId = p.request_id || "";
    this.errors = Array.isArray(p.errors) ? p.errors : [];
    this.retryAfter = retryAfter;
  }

  /** fromResponse builds the error from a non-2xx response and its parsed body (if any). */
  static fromResponse(res: Response, body: unknown): ApiError {
    const p = (body && typeof body === "object" ? body : {}) as Partial<Problem>;
    return new ApiError(
      {
        type: typeof p.type === "string" ? p.type : undefined,
        status: res.status,
        title: p.title || res.statusText,
        detail: p.detail,
        request_id: p.request_id || res.headers.get("X-Request-Id") || "",
        errors: p.errors,
      },
      res.headers.get("Retry-After") || "",
    );
  }
}

/** SessionEndedError: the server refused the refresh token for good (revoked, expired, replayed). */
export class SessionEndedError extends Error {
  constructor() {
    super("The session has ended. Sign in again.");
    this.name = "SessionEndedError";
  }
}

/** StoredTokens is what a TokenStore keeps: the token response plus when the access token expires. */
export interface StoredTokens {
  access_token: string;
  refresh_token: string;
  /** Milliseconds since the epoch. */
  expires_at: number;
  lifetime_ms: number;
  user_id: string;
  tenant_id: string;
  session_id: string;
}

/** TokenStore keeps the tokens between page loads (or not: the default keeps them in memory). */
export interface TokenStore {
  load(): StoredTokens | null;
  save(t: StoredTokens | null): void;
}

export function memoryStore(): TokenStore {
  let t: StoredTokens | null = null;
  return { load: () => t, save: (v) => void (t = v) };
}

export interface AtriumOptions {
  /** The API's base URL, e.g. "/api/v1" in a browser on Atrium's origin, or "https://host/api/v1". */
  baseUrl: string;
  store?: TokenStore;
  fetch?: typeof globalThis.fetch;
  /** Refresh this long before expiry (at most a fifth of the token's life); default 60 s. */
  refreshEarlyMs?: number;
  /** Renew the access token on a timer, not only before a call; default false. */
  autoRefresh?: boolean;
  /** Called once when a refresh is refused for good; the tokens are already cleared. */
  onSessionEnded?: () => void;
  now?: () => number;
}

export interface CallOptions {
  /** Do not retry after a 401 (single-use requests such as a ceremony's finish). */
  once?: boolean;
}

type Result<D> = { data?: D; error?: unknown; response: Response };

const formSerializer = (body: unknown) => new URLSearchParams(body as Record<string, string>).toString();

/** Atrium is the client: `call` for bearer calls, `anonymous` for public ones. */
export class Atrium {
  /** The openapi-fetch client that sends the bearer token. */
  readonly client: AtriumClient;
  /** The openapi-fetch client for public endpoints (no Authorization header). */
  readonly anonymousClient: AtriumClient;
  private readonly store: TokenStore;
  private readonly opts: AtriumOptions;
  private readonly now: () => number;
  private refreshing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: AtriumOptions) {
    this.opts = opts;
    this.store = opts.store ?? memoryStore();
    this.now = opts.now ?? Date.now;
    // Call fetch late: tests and browsers may replace globalThis.fetch after construction.
    const f = opts.fetch ?? ((input: Request) => globalThis.fetch(input));
    const common = { baseUrl: opts.baseUrl, fetch: f, credentials: "omit" as const, cache: "no-store" as const };
    this.anonymousClient = createClient<paths>(common);
    this.client = createClient<paths>(common);
    this.client.use({
      onRequest: ({ request }) => {
        const t = this.store.load();
        if (t) request.headers.set("Authorization", `Bearer ${t.access_token}`);
        return request;
      },
    });
  }

  /** tokens returns the stored tokens, or null when signed out. */
  tokens(): StoredTokens | null {
    return this.store.load();
  }

  /** setTokens stores a token response (from sign-in, enrollment, refresh or a switch). */
  setTokens(t: TokenResponse): StoredTokens {
    const life = (t.expires_in || 0) * 1000;
    const s: StoredTokens = {
      access_token: t.access_token,
      refresh_token: t.refresh_token,
      expires_at: this.now() + life,
      lifetime_ms: life,
      user_id: t.user_id,
      tenant_id: t.tenant_id,
      session_id: t.session_id,
    };
    this.store.save(s);
    this.schedule();
    return s;
  }

  /** clear forgets the tokens (it does not end the session on the server: see signOut). */
  clear(): void {
    this.store.save(null);
    clearTimeout(this.timer);
  }

  /** resume starts the refresh timer for tokens loaded from the store (autoRefresh). */
  resume(): void {
    this.schedule();
  }

  private refreshEarly(): number {
    const t = this.store.load();
    const early = this.opts.refreshEarlyMs ?? 60_000;
    return Math.min(early, (t?.lifetime_ms || early * 5) / 5);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const t = this.store.load();
    if (!this.opts.autoRefresh || !t) return;
    const wait = Math.max(5_000, t.expires_at - this.now() - this.refreshEarly());
    this.timer = setTimeout(() => {
      this.refreshOrEnd().catch(() => {
        /* a transient failure: the next call retries */
      });
    }, wait);
  }

  /** anonymous runs a public call and returns its data, or throws ApiError. */
  async anonymous<D>(fn: (c: AtriumClient) => Promise<Result<D>>): Promise<D> {
    return unwrap(await send(() => fn(this.anonymousClient)));
  }

  /**
   * call runs a bearer call and returns its data, or throws ApiError. The
   * access token is refreshed shortly before it expires, and once more (then
   * the call retried) when the server answers 401, unless opts.once.
   * SessionEndedError means the session is over.
   */
  async call<D>(fn: (c: AtriumClient) => Promise<Result<D>>, opts: CallOptions = {}): Promise<D> {
    const t = this.store.load();
    if (!t) throw new SessionEndedError();
    if (t.expires_at - this.now() < this.refreshEarly() / 2) await this.refreshOrEnd();
    try {
      return unwrap(await send(() => fn(this.client)));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401 || opts.once) throw e;
      await this.refreshOrEnd();
      return unwrap(await send(() => fn(this.client)));
    }
  }

  /**
   * refresh rotates the refresh token. Refresh tokens are single-use and a
   * replayed one ends the session, so concurrent callers share one request.
   */
  refresh(): Promise<void> {
    const t = this.store.load();
    if (!t) return Promise.reject(new SessionEndedError());
    if (!this.refreshing) {
      const presented = t.refresh_token;
      this.refreshing = this.anonymous((c) =>
        c.POST("/auth/token/exchange", {
          body: { grant_type: "refresh_token", refresh_token: presented },
          bodySerializer: formSerializer,
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        }),
      )
        .then((next) => {
          if (this.store.load()?.refresh_token === presented) this.setTokens(next);
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  /** refreshOrEnd refreshes; a refusal for good clears the tokens and throws SessionEndedError. */
  async refreshOrEnd(): Promise<void> {
    try {
      await this.refresh();
    } catch (e) {
      if (e instanceof SessionEndedError || refusedForGood(e)) {
        const had = this.store.load() !== null;
        this.clear();
        if (had) this.opts.onSessionEnded?.();
        throw new SessionEndedError();
      }
      throw e;
    }
  }

  /**
   * switchTenant moves the session to another tenant the user belongs to
   * (RFC 8693 token exchange with the access token as the subject).
   */
  async switchTenant(tenantId: string): Promise<StoredTokens> {
    const exchange = () => {
      const t = this.store.load();
      if (!t) throw new SessionEndedError();
      return this.anonymous((c) =>
        c.POST("/auth/token/exchange", {
          body: {
            grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
            subject_token: t.access_token,
            subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
            tenant_id: tenantId,
          },
          bodySerializer: formSerializer,
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        }),
      );
    };
    const t = this.store.load();
    if (!t) throw new SessionEndedError();
    if (t.expires_at - this.now() < this.refreshEarly() / 2) await this.refreshOrEnd();
    let next: TokenResponse;
    try {
      next = await exchange();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      await this.refreshOrEnd();
      next = await exchange();
    }
    return this.setTokens(next);
  }

  /** signOut ends the session on the server, then forgets the tokens. */
  async signOut(): Promise<void> {
    try {
      await this.call((c) => c.POST("/auth/logout"));
    } finally {
      this.clear();
    }
  }
}

/** refusedForGood tells a refusal (4xx but 408/429) from a failure worth retrying later. */
export function refusedForGood(e: unknown): boolean {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408;
}

async function send<D>(fn: () => Promise<Result<D>>): Promise<Result<D>> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError || e instanceof SessionEndedError) throw e;
    throw new ApiError({
      status: 0,
      title: "Network error",
      detail: "Atrium could not be reached. Check your connection and try again.",
    });
  }
}

function unwrap<D>(r: Result<D>): D {
  if (!r.response.ok) throw ApiError.fromResponse(r.response, r.error);
  return r.data as D;
}
