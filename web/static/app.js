// ../../clients/typescript/node_modules/openapi-fetch/dist/index.mjs
var PATH_PARAM_RE = /\{[^{}]+\}/g;
var supportsRequestInitExt = () => {
  return typeof process === "object" && Number.parseInt(process?.versions?.node?.substring(0, 2)) >= 18 && process.versions.undici;
};
function randomID() {
  return Math.random().toString(36).slice(2, 11);
}
function createClient(clientOptions) {
  let {
    baseUrl = "",
    Request: CustomRequest = globalThis.Request,
    fetch: baseFetch = globalThis.fetch,
    querySerializer: globalQuerySerializer,
    bodySerializer: globalBodySerializer,
    pathSerializer: globalPathSerializer,
    headers: baseHeaders,
    requestInitExt = void 0,
    ...baseOptions
  } = { ...clientOptions };
  requestInitExt = supportsRequestInitExt() ? requestInitExt : void 0;
  baseUrl = removeTrailingSlash(baseUrl);
  const globalMiddlewares = [];
  async function coreFetch(schemaPath, fetchOptions) {
    const {
      baseUrl: localBaseUrl,
      fetch = baseFetch,
      Request = CustomRequest,
      headers,
      params = {},
      parseAs = "json",
      querySerializer: requestQuerySerializer,
      bodySerializer = globalBodySerializer ?? defaultBodySerializer,
      pathSerializer: requestPathSerializer,
      body,
      middleware: requestMiddlewares = [],
      ...init
    } = fetchOptions || {};
    let finalBaseUrl = baseUrl;
    if (localBaseUrl) {
      finalBaseUrl = removeTrailingSlash(localBaseUrl) ?? baseUrl;
    }
    let querySerializer = typeof globalQuerySerializer === "function" ? globalQuerySerializer : createQuerySerializer(globalQuerySerializer);
    if (requestQuerySerializer) {
      querySerializer = typeof requestQuerySerializer === "function" ? requestQuerySerializer : createQuerySerializer({
        ...typeof globalQuerySerializer === "object" ? globalQuerySerializer : {},
        ...requestQuerySerializer
      });
    }
    const pathSerializer = requestPathSerializer || globalPathSerializer || defaultPathSerializer;
    const serializedBody = body === void 0 ? void 0 : bodySerializer(
      body,
      // Note: we declare mergeHeaders() both here and below because it’s a bit of a chicken-or-egg situation:
      // bodySerializer() needs all headers so we aren’t dropping ones set by the user, however,
      // the result of this ALSO sets the lowest-priority content-type header. So we re-merge below,
      // setting the content-type at the very beginning to be overwritten.
      // Lastly, based on the way headers work, it’s not a simple “present-or-not” check becauase null intentionally un-sets headers.
      mergeHeaders(baseHeaders, headers, params.header)
    );
    const finalHeaders = mergeHeaders(
      // with no body, we should not to set Content-Type
      serializedBody === void 0 || // if serialized body is FormData; browser will correctly set Content-Type & boundary expression
      serializedBody instanceof FormData ? {} : {
        "Content-Type": "application/json"
      },
      baseHeaders,
      headers,
      params.header
    );
    const finalMiddlewares = [...globalMiddlewares, ...requestMiddlewares];
    const requestInit = {
      redirect: "follow",
      ...baseOptions,
      ...init,
      body: serializedBody,
      headers: finalHeaders
    };
    let id;
    let options;
    let request = new Request(
      createFinalURL(schemaPath, { baseUrl: finalBaseUrl, params, querySerializer, pathSerializer }),
      requestInit
    );
    let response;
    for (const key in init) {
      if (!(key in request)) {
        request[key] = init[key];
      }
    }
    if (finalMiddlewares.length) {
      id = randomID();
      options = Object.freeze({
        baseUrl: finalBaseUrl,
        fetch,
        parseAs,
        querySerializer,
        bodySerializer,
        pathSerializer
      });
      for (const m of finalMiddlewares) {
        if (m && typeof m === "object" && typeof m.onRequest === "function") {
          const result = await m.onRequest({
            request,
            schemaPath,
            params,
            options,
            id
          });
          if (result) {
            if (result instanceof Request) {
              request = result;
            } else if (result instanceof Response) {
              response = result;
              break;
            } else {
              throw new Error("onRequest: must return new Request() or Response() when modifying the request");
            }
          }
        }
      }
    }
    if (!response) {
      try {
        response = await fetch(request, requestInitExt);
      } catch (error2) {
        let errorAfterMiddleware = error2;
        if (finalMiddlewares.length) {
          for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
            const m = finalMiddlewares[i];
            if (m && typeof m === "object" && typeof m.onError === "function") {
              const result = await m.onError({
                request,
                error: errorAfterMiddleware,
                schemaPath,
                params,
                options,
                id
              });
              if (result) {
                if (result instanceof Response) {
                  errorAfterMiddleware = void 0;
                  response = result;
                  break;
                }
                if (result instanceof Error) {
                  errorAfterMiddleware = result;
                  continue;
                }
                throw new Error("onError: must return new Response() or instance of Error");
              }
            }
          }
        }
        if (errorAfterMiddleware) {
          throw errorAfterMiddleware;
        }
      }
      if (finalMiddlewares.length) {
        for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
          const m = finalMiddlewares[i];
          if (m && typeof m === "object" && typeof m.onResponse === "function") {
            const result = await m.onResponse({
              request,
              response,
              schemaPath,
              params,
              options,
              id
            });
            if (result) {
              if (!(result instanceof Response)) {
                throw new Error("onResponse: must return new Response() when modifying the response");
              }
              response = result;
            }
          }
        }
      }
    }
    const contentLength = response.headers.get("Content-Length");
    if (response.status === 204 || request.method === "HEAD" || contentLength === "0" && !response.headers.get("Transfer-Encoding")?.includes("chunked")) {
      return response.ok ? { data: void 0, response } : { error: void 0, response };
    }
    if (response.ok) {
      const getResponseData = async () => {
        if (parseAs === "stream") {
          return response.body;
        }
        if (parseAs === "json" && !contentLength) {
          const raw = await response.text();
          return raw ? JSON.parse(raw) : void 0;
        }
        return await response[parseAs]();
      };
      return { data: await getResponseData(), response };
    }
    let error = await response.text();
    try {
      error = JSON.parse(error);
    } catch {
    }
    return { error, response };
  }
  return {
    request(method, url, init) {
      return coreFetch(url, { ...init, method: method.toUpperCase() });
    },
    /** Call a GET endpoint */
    GET(url, init) {
      return coreFetch(url, { ...init, method: "GET" });
    },
    /** Call a PUT endpoint */
    PUT(url, init) {
      return coreFetch(url, { ...init, method: "PUT" });
    },
    /** Call a POST endpoint */
    POST(url, init) {
      return coreFetch(url, { ...init, method: "POST" });
    },
    /** Call a DELETE endpoint */
    DELETE(url, init) {
      return coreFetch(url, { ...init, method: "DELETE" });
    },
    /** Call a OPTIONS endpoint */
    OPTIONS(url, init) {
      return coreFetch(url, { ...init, method: "OPTIONS" });
    },
    /** Call a HEAD endpoint */
    HEAD(url, init) {
      return coreFetch(url, { ...init, method: "HEAD" });
    },
    /** Call a PATCH endpoint */
    PATCH(url, init) {
      return coreFetch(url, { ...init, method: "PATCH" });
    },
    /** Call a TRACE endpoint */
    TRACE(url, init) {
      return coreFetch(url, { ...init, method: "TRACE" });
    },
    /** Register middleware */
    use(...middleware) {
      for (const m of middleware) {
        if (!m) {
          continue;
        }
        if (typeof m !== "object" || !("onRequest" in m || "onResponse" in m || "onError" in m)) {
          throw new Error("Middleware must be an object with one of `onRequest()`, `onResponse() or `onError()`");
        }
        globalMiddlewares.push(m);
      }
    },
    /** Unregister middleware */
    eject(...middleware) {
      for (const m of middleware) {
        const i = globalMiddlewares.indexOf(m);
        if (i !== -1) {
          globalMiddlewares.splice(i, 1);
        }
      }
    }
  };
}
function serializePrimitiveParam(name, value, options) {
  if (value === void 0 || value === null) {
    return "";
  }
  if (typeof value === "object") {
    throw new Error(
      "Deeply-nested arrays/objects aren’t supported. Provide your own `querySerializer()` to handle these."
    );
  }
  return `${name}=${options?.allowReserved === true ? value : encodeURIComponent(value)}`;
}
function serializeObjectParam(name, value, options) {
  if (!value || typeof value !== "object") {
    return "";
  }
  const values = [];
  const joiner = {
    simple: ",",
    label: ".",
    matrix: ";"
  }[options.style] || "&";
  if (options.style !== "deepObject" && options.explode === false) {
    for (const k in value) {
      values.push(k, options.allowReserved === true ? value[k] : encodeURIComponent(value[k]));
    }
    const final2 = values.join(",");
    switch (options.style) {
      case "form": {
        return `${name}=${final2}`;
      }
      case "label": {
        return `.${final2}`;
      }
      case "matrix": {
        return `;${name}=${final2}`;
      }
      default: {
        return final2;
      }
    }
  }
  for (const k in value) {
    const finalName = options.style === "deepObject" ? `${name}[${k}]` : k;
    values.push(serializePrimitiveParam(finalName, value[k], options));
  }
  const final = values.join(joiner);
  return options.style === "label" || options.style === "matrix" ? `${joiner}${final}` : final;
}
function serializeArrayParam(name, value, options) {
  if (!Array.isArray(value)) {
    return "";
  }
  if (options.explode === false) {
    const joiner2 = { form: ",", spaceDelimited: "%20", pipeDelimited: "|" }[options.style] || ",";
    const final = (options.allowReserved === true ? value : value.map((v) => encodeURIComponent(v))).join(joiner2);
    switch (options.style) {
      case "simple": {
        return final;
      }
      case "label": {
        return `.${final}`;
      }
      case "matrix": {
        return `;${name}=${final}`;
      }
      // case "spaceDelimited":
      // case "pipeDelimited":
      default: {
        return `${name}=${final}`;
      }
    }
  }
  const joiner = { simple: ",", label: ".", matrix: ";" }[options.style] || "&";
  const values = [];
  for (const v of value) {
    if (options.style === "simple" || options.style === "label") {
      values.push(options.allowReserved === true ? v : encodeURIComponent(v));
    } else {
      values.push(serializePrimitiveParam(name, v, options));
    }
  }
  return options.style === "label" || options.style === "matrix" ? `${joiner}${values.join(joiner)}` : values.join(joiner);
}
function createQuerySerializer(options) {
  return function querySerializer(queryParams) {
    const search = [];
    if (queryParams && typeof queryParams === "object") {
      for (const name in queryParams) {
        const value = queryParams[name];
        if (value === void 0 || value === null) {
          continue;
        }
        if (Array.isArray(value)) {
          if (value.length === 0) {
            continue;
          }
          search.push(
            serializeArrayParam(name, value, {
              style: "form",
              explode: true,
              ...options?.array,
              allowReserved: options?.allowReserved || false
            })
          );
          continue;
        }
        if (typeof value === "object") {
          search.push(
            serializeObjectParam(name, value, {
              style: "deepObject",
              explode: true,
              ...options?.object,
              allowReserved: options?.allowReserved || false
            })
          );
          continue;
        }
        search.push(serializePrimitiveParam(name, value, options));
      }
    }
    return search.join("&");
  };
}
function defaultPathSerializer(pathname, pathParams) {
  let nextURL = pathname;
  for (const match of pathname.match(PATH_PARAM_RE) ?? []) {
    let name = match.substring(1, match.length - 1);
    let explode = false;
    let style = "simple";
    if (name.endsWith("*")) {
      explode = true;
      name = name.substring(0, name.length - 1);
    }
    if (name.startsWith(".")) {
      style = "label";
      name = name.substring(1);
    } else if (name.startsWith(";")) {
      style = "matrix";
      name = name.substring(1);
    }
    if (!pathParams || pathParams[name] === void 0 || pathParams[name] === null) {
      continue;
    }
    const value = pathParams[name];
    if (Array.isArray(value)) {
      nextURL = nextURL.replace(match, serializeArrayParam(name, value, { style, explode }));
      continue;
    }
    if (typeof value === "object") {
      nextURL = nextURL.replace(match, serializeObjectParam(name, value, { style, explode }));
      continue;
    }
    if (style === "matrix") {
      nextURL = nextURL.replace(match, `;${serializePrimitiveParam(name, value)}`);
      continue;
    }
    nextURL = nextURL.replace(match, style === "label" ? `.${encodeURIComponent(value)}` : encodeURIComponent(value));
  }
  return nextURL;
}
function defaultBodySerializer(body, headers) {
  if (body instanceof FormData) {
    return body;
  }
  if (headers) {
    const contentType = headers.get instanceof Function ? headers.get("Content-Type") ?? headers.get("content-type") : headers["Content-Type"] ?? headers["content-type"];
    if (contentType === "application/x-www-form-urlencoded") {
      return new URLSearchParams(body).toString();
    }
  }
  return JSON.stringify(body);
}
function createFinalURL(pathname, options) {
  let finalURL = `${options.baseUrl}${pathname}`;
  if (options.params?.path) {
    finalURL = options.pathSerializer(finalURL, options.params.path);
  }
  let search = options.querySerializer(options.params.query ?? {});
  if (search.startsWith("?")) {
    search = search.substring(1);
  }
  if (search) {
    finalURL += `?${search}`;
  }
  return finalURL;
}
function mergeHeaders(...allHeaders) {
  const finalHeaders = new Headers();
  for (const h2 of allHeaders) {
    if (!h2 || typeof h2 !== "object") {
      continue;
    }
    const iterator = h2 instanceof Headers ? h2.entries() : Object.entries(h2);
    for (const [k, v] of iterator) {
      if (v === null) {
        finalHeaders.delete(k);
      } else if (Array.isArray(v)) {
        for (const v2 of v) {
          finalHeaders.append(k, v2);
        }
      } else if (v !== void 0) {
        finalHeaders.set(k, v);
      }
    }
  }
  return finalHeaders;
}
function removeTrailingSlash(url) {
  if (url.endsWith("/")) {
    return url.substring(0, url.length - 1);
  }
  return url;
}

// ../../clients/typescript/src/index.ts
var ApiError = class _ApiError extends Error {
  status;
  type;
  title;
  detail;
  requestId;
  errors;
  /** The Retry-After header (seconds or an HTTP date), on 429 and 503. */
  retryAfter;
  constructor(p, retryAfter = "") {
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
  static fromResponse(res, body) {
    const p = body && typeof body === "object" ? body : {};
    return new _ApiError(
      {
        type: typeof p.type === "string" ? p.type : void 0,
        status: res.status,
        title: p.title || res.statusText,
        detail: p.detail,
        request_id: p.request_id || res.headers.get("X-Request-Id") || "",
        errors: p.errors
      },
      res.headers.get("Retry-After") || ""
    );
  }
};
var SessionEndedError = class extends Error {
  constructor() {
    super("The session has ended. Sign in again.");
    this.name = "SessionEndedError";
  }
};
function memoryStore() {
  let t = null;
  return { load: () => t, save: (v) => void (t = v) };
}
var formSerializer = (body) => new URLSearchParams(body).toString();
var Atrium = class {
  /** The openapi-fetch client that sends the bearer token. */
  client;
  /** The openapi-fetch client for public endpoints (no Authorization header). */
  anonymousClient;
  store;
  opts;
  now;
  refreshing = null;
  timer;
  constructor(opts) {
    this.opts = opts;
    this.store = opts.store ?? memoryStore();
    this.now = opts.now ?? Date.now;
    const f = opts.fetch ?? ((input) => globalThis.fetch(input));
    const common = { baseUrl: opts.baseUrl, fetch: f, credentials: "omit", cache: "no-store" };
    this.anonymousClient = createClient(common);
    this.client = createClient(common);
    this.client.use({
      onRequest: ({ request }) => {
        const t = this.store.load();
        if (t) request.headers.set("Authorization", `Bearer ${t.access_token}`);
        return request;
      }
    });
  }
  /** tokens returns the stored tokens, or null when signed out. */
  tokens() {
    return this.store.load();
  }
  /** setTokens stores a token response (from sign-in, enrollment, refresh or a switch). */
  setTokens(t) {
    const life = (t.expires_in || 0) * 1e3;
    const s = {
      access_token: t.access_token,
      refresh_token: t.refresh_token,
      expires_at: this.now() + life,
      lifetime_ms: life,
      user_id: t.user_id,
      tenant_id: t.tenant_id,
      session_id: t.session_id
    };
    this.store.save(s);
    this.schedule();
    return s;
  }
  /** clear forgets the tokens (it does not end the session on the server: see signOut). */
  clear() {
    this.store.save(null);
    clearTimeout(this.timer);
  }
  /** resume starts the refresh timer for tokens loaded from the store (autoRefresh). */
  resume() {
    this.schedule();
  }
  refreshEarly() {
    const t = this.store.load();
    const early = this.opts.refreshEarlyMs ?? 6e4;
    return Math.min(early, (t?.lifetime_ms || early * 5) / 5);
  }
  schedule() {
    clearTimeout(this.timer);
    const t = this.store.load();
    if (!this.opts.autoRefresh || !t) return;
    const wait = Math.max(5e3, t.expires_at - this.now() - this.refreshEarly());
    this.timer = setTimeout(() => {
      this.refreshOrEnd().catch(() => {
      });
    }, wait);
  }
  /** anonymous runs a public call and returns its data, or throws ApiError. */
  async anonymous(fn) {
    return unwrap(await send(() => fn(this.anonymousClient)));
  }
  /**
   * call runs a bearer call and returns its data, or throws ApiError. The
   * access token is refreshed shortly before it expires, and once more (then
   * the call retried) when the server answers 401, unless opts.once.
   * SessionEndedError means the session is over.
   */
  async call(fn, opts = {}) {
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
  refresh() {
    const t = this.store.load();
    if (!t) return Promise.reject(new SessionEndedError());
    if (!this.refreshing) {
      const presented = t.refresh_token;
      this.refreshing = this.anonymous(
        (c) => c.POST("/auth/token/exchange", {
          body: { grant_type: "refresh_token", refresh_token: presented },
          bodySerializer: formSerializer,
          headers: { "Content-Type": "application/x-www-form-urlencoded" }
        })
      ).then((next) => {
        if (this.store.load()?.refresh_token === presented) this.setTokens(next);
      }).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }
  /** refreshOrEnd refreshes; a refusal for good clears the tokens and throws SessionEndedError. */
  async refreshOrEnd() {
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
  async switchTenant(tenantId) {
    const exchange = () => {
      const t2 = this.store.load();
      if (!t2) throw new SessionEndedError();
      return this.anonymous(
        (c) => c.POST("/auth/token/exchange", {
          body: {
            grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
            subject_token: t2.access_token,
            subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
            tenant_id: tenantId
          },
          bodySerializer: formSerializer,
          headers: { "Content-Type": "application/x-www-form-urlencoded" }
        })
      );
    };
    const t = this.store.load();
    if (!t) throw new SessionEndedError();
    if (t.expires_at - this.now() < this.refreshEarly() / 2) await this.refreshOrEnd();
    let next;
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
  async signOut() {
    try {
      await this.call((c) => c.POST("/auth/logout"));
    } finally {
      this.clear();
    }
  }
};
function refusedForGood(e) {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408;
}
async function send(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError || e instanceof SessionEndedError) throw e;
    throw new ApiError({
      status: 0,
      title: "Network error",
      detail: "Atrium could not be reached. Check your connection and try again."
    });
  }
}
function unwrap(r) {
  if (!r.response.ok) throw ApiError.fromResponse(r.response, r.error);
  return r.data;
}

// src/dom.ts
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.id) el.id = props.id;
  if (props.title) el.title = props.title;
  if (props.hidden) el.hidden = true;
  if (props.text !== void 0) el.textContent = props.text;
  const anyEl = el;
  for (const k of ["disabled", "checked", "value", "type", "name"]) {
    if (props[k] !== void 0) anyEl[k] = props[k];
  }
  if (props.for) el.htmlFor = props.for;
  for (const [k, v] of Object.entries(props.attrs || {})) el.setAttribute(k, v);
  for (const [k, v] of Object.entries(props.data || {})) el.dataset[k] = v;
  for (const [k, fn] of Object.entries(props.on || {})) el.addEventListener(k, fn);
  for (const c of children) {
    if (c === null || c === void 0 || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
  return el;
}
function $(id, root = document) {
  const el = root.querySelector(`[data-testid="${id}"]`);
  if (!el) throw new Error(`console: no element [data-testid="${id}"]`);
  return el;
}
var seq = 0;
var uid = (prefix) => `${prefix}-${++seq}`;
function field(label, control) {
  if (!control.id) control.id = uid("f");
  const f = document.createDocumentFragment();
  f.append(h("label", { for: control.id, text: label }), control);
  return f;
}
function select(testid, options, value = "") {
  return h(
    "select",
    { testid },
    ...options.map(([v, l]) => {
      const o = h("option", { value: v, text: l });
      o.selected = v === value;
      return o;
    })
  );
}
var thisYear = new Intl.DateTimeFormat(void 0, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
var otherYear = new Intl.DateTimeFormat(void 0, { dateStyle: "medium" });
function when(s) {
  if (!s) return "";
  const d = new Date(s);
  return (d.getFullYear() === (/* @__PURE__ */ new Date()).getFullYear() ? thisYear : otherYear).format(d);
}

// src/state.ts
var STORE_KEY = "atrium.session";
var sessionStore = {
  load() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      return s && s.access_token && s.refresh_token ? s : null;
    } catch {
      return null;
    }
  },
  save(t) {
    if (t) sessionStorage.setItem(STORE_KEY, JSON.stringify(t));
    else sessionStorage.removeItem(STORE_KEY);
  }
};
var ended = () => {
};
function onSessionEnded(fn) {
  ended = fn;
}
var atrium = new Atrium({
  baseUrl: `${location.origin}/api/v1`,
  store: sessionStore,
  autoRefresh: true,
  onSessionEnded: () => ended()
});
var me = null;
function setMe(m) {
  me = m;
}
function can(perm) {
  if (!me) return false;
  const resource = perm.split(".")[0];
  return me.permissions.some((p) => p === "*" || p === perm || p === `${resource}.*`);
}

// src/ui.ts
var STATUS_MS = 8e3;
var statusTimer;
var ceremony = "";
function setCeremony(c) {
  ceremony = c;
}
var viewHook = () => {
};
function onViewChange(fn) {
  viewHook = fn;
}
function showView(name) {
  clearMessages();
  viewHook();
  for (const el of document.querySelectorAll("[data-view]")) el.hidden = el.dataset.view !== name;
  $("bar-actions").hidden = name !== "console";
}
function notify(msg) {
  const el = $("status");
  el.textContent = msg;
  el.hidden = !msg;
  clearTimeout(statusTimer);
  if (msg) statusTimer = setTimeout(() => notify(""), STATUS_MS);
}
function clearMessages() {
  notify("");
  $("error").hidden = true;
}
function describe(e) {
  if (e instanceof ApiError) return `ApiError ${e.status} ${e.title}: ${e.detail}${e.requestId ? ` (request ${e.requestId})` : ""}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
function showError(e, action) {
  if (e instanceof SessionEndedError) return;
  console.error(`atrium console: ${describe(e)}`);
  const fields = $("error-fields");
  const rid = $("error-request-id");
  let msg;
  const name = e instanceof Error ? e.name : "";
  if (e instanceof ApiError) {
    msg = e.detail || e.title || `Request failed (${e.status}).`;
    if (e.status === 429) {
      const wait = waitText(e.retryAfter);
      msg = `Too many attempts. ${wait ? `Try again in ${wait}.` : "Try again later."}`;
    }
  } else if (name === "NotAllowedError") {
    msg = ceremony === "signin" ? "No passkey was used. If you have none for Atrium yet, open the invitation link your administrator sent you to create one; otherwise try again and choose your passkey." : "The passkey request was cancelled or timed out.";
  } else if (name === "InvalidStateError") {
    msg = "This authenticator already holds a passkey for your account. Use another device or security key.";
  } else if (name === "SecurityError") {
    msg = "The browser refused the passkey request for this address. Open Atrium at its public URL.";
  } else {
    msg = e instanceof Error && e.message || "Something went wrong.";
  }
  $("error-message").textContent = msg.charAt(0).toUpperCase() + msg.slice(1);
  fields.replaceChildren(...(e instanceof ApiError ? e.errors : []).map((f) => h("li", { text: `${f.field}: ${f.message}` })));
  fields.hidden = fields.childElementCount === 0;
  rid.textContent = e instanceof ApiError && e.requestId ? `Request id: ${e.requestId}` : "";
  rid.hidden = !rid.textContent;
  const act = $("error-action");
  act.hidden = !action;
  act.textContent = action ? action.label : "";
  act.onclick = action ? () => action.run() : null;
  const box = $("error");
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}
function waitText(retryAfter) {
  if (!retryAfter) return "";
  let secs = /^\d+$/.test(retryAfter) ? Number(retryAfter) : Math.ceil((Date.parse(retryAfter) - Date.now()) / 1e3);
  if (!Number.isFinite(secs)) return "";
  secs = Math.max(1, secs);
  const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (secs < 90) return unit(secs, "second");
  if (secs < 90 * 60) return unit(Math.ceil(secs / 60), "minute");
  return unit(Math.ceil(secs / 3600), "hour");
}
async function busy(control, fn) {
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
function onSubmit(form, fn) {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('button[type="submit"]');
    if (btn) void busy(btn, fn);
  });
}

// src/workspace.ts
var sharePerm = {
  conversations: "conversation.share",
  agents: "agent.share",
  documents: "document.share",
  "knowledge-graphs": "knowledge.share"
};
function card(title, testid, ...children) {
  return h("section", { class: "card", testid }, h("h2", { text: title }), ...children);
}
function heading(root, title, intro) {
  root.append(h("h1", { text: title, attrs: { tabindex: "-1" } }), h("p", { class: "meta", text: intro }));
}
async function listShares(kind, id) {
  switch (kind) {
    case "conversations":
      return (await atrium.call((c) => c.GET("/conversations/{conversationId}/shares", { params: { path: { conversationId: id } } }))).items;
    case "agents":
      return (await atrium.call((c) => c.GET("/agents/{agentId}/shares", { params: { path: { agentId: id } } }))).items;
    case "documents":
      return (await atrium.call((c) => c.GET("/documents/{documentId}/shares", { params: { path: { documentId: id } } }))).items;
    case "knowledge-graphs":
      return (await atrium.call((c) => c.GET("/knowledge-graphs/{graphId}/shares", { params: { path: { graphId: id } } }))).items;
  }
}
async function addShare(kind, id, body) {
  switch (kind) {
    case "conversations":
      return atrium.call((c) => c.POST("/conversations/{conversationId}/shares", { params: { path: { conversationId: id } }, body }));
    case "agents":
      return atrium.call((c) => c.POST("/agents/{agentId}/shares", { params: { path: { agentId: id } }, body }));
    case "documents":
      return atrium.call((c) => c.POST("/documents/{documentId}/shares", { params: { path: { documentId: id } }, body }));
    case "knowledge-graphs":
      return atrium.call((c) => c.POST("/knowledge-graphs/{graphId}/shares", { params: { path: { graphId: id } }, body }));
  }
}
async function revokeShare(kind, id, shareId) {
  switch (kind) {
    case "conversations":
      return atrium.call(
        (c) => c.DELETE("/conversations/{conversationId}/shares/{shareId}", { params: { path: { conversationId: id, shareId } } })
      );
    case "agents":
      return atrium.call((c) => c.DELETE("/agents/{agentId}/shares/{shareId}", { params: { path: { agentId: id, shareId } } }));
    case "documents":
      return atrium.call((c) => c.DELETE("/documents/{documentId}/shares/{shareId}", { params: { path: { documentId: id, shareId } } }));
    case "knowledge-graphs":
      return atrium.call((c) => c.DELETE("/knowledge-graphs/{graphId}/shares/{shareId}", { params: { path: { graphId: id, shareId } } }));
  }
}
function shareButton(kind, id, name) {
  if (!can(sharePerm[kind])) return null;
  const panel = h("div", { class: "inline", testid: "share-dialog", hidden: true, attrs: { role: "group", "aria-label": `Sharing of ${name}` } });
  const open = h("button", { type: "button", class: "small", testid: "share-open", text: "Share" });
  open.addEventListener(
    "click",
    () => void busy(open, async () => {
      if (!panel.hidden) {
        panel.hidden = true;
        return;
      }
      await renderShares(panel, kind, id, name);
      panel.hidden = false;
    })
  );
  return h("div", { class: "share" }, open, panel);
}
async function renderShares(panel, kind, id, name) {
  const [shares, members, teams] = await Promise.all([
    listShares(kind, id),
    can("member.read") ? atrium.call((c) => c.GET("/members", { params: { query: { limit: 100 } } })).then((p) => p.items) : [],
    can("team.read") ? atrium.call((c) => c.GET("/teams", { params: { query: { limit: 100 } } })).then((p) => p.items) : []
  ]);
  const label = (s) => s.subject_type === "team" ? `Team ${teams.find((t) => t.id === s.subject_id)?.name || s.subject_id.slice(0, 8)}` : members.find((m) => m.user_id === s.subject_id)?.display_name || s.subject_id.slice(0, 8);
  const who = select("share-subject", [
    ...members.map((m) => [`user:${m.user_id}`, m.display_name]),
    ...teams.map((t) => [`team:${t.id}`, `Team ${t.name}`])
  ]);
  const level = select("share-level", [["viewer", "Viewer (read)"], ["editor", "Editor (change)"], ["owner", "Owner (share, delete)"]], "viewer");
  const form = h("form", { testid: "share-form", attrs: { novalidate: "" } });
  form.append(field("With", who), field("Access", level), h("button", { type: "submit", class: "small", testid: "share-submit", text: "Share" }));
  onSubmit(form, async () => {
    const [type, subject] = who.value.split(":");
    if (!subject) throw new Error("Choose someone to share with.");
    await addShare(kind, id, {
      subject_type: type,
      subject_id: subject,
      level: level.value
    });
    await renderShares(panel, kind, id, name);
    notify(`${name} shared.`);
  });
  panel.replaceChildren(
    h("p", { text: `Who has access to ${name}` }),
    h(
      "ul",
      { class: "list", testid: "share-list" },
      ...shares.map(
        (s) => h(
          "li",
          { class: "item", testid: "share-item", data: { subject: s.subject_id, level: s.level } },
          h("span", { text: `${label(s)} · ${s.level}` }),
          h(
            "div",
            { class: "row" },
            (() => {
              const b = h("button", { type: "button", class: "small danger", testid: "share-revoke", text: "Revoke" });
              b.addEventListener(
                "click",
                () => void busy(b, async () => {
                  await revokeShare(kind, id, s.id);
                  await renderShares(panel, kind, id, name);
                  notify("Share revoked.");
                })
              );
              return b;
            })()
          )
        )
      ),
      shares.length ? null : h("li", { class: "item meta", text: "Not shared with anyone yet." })
    ),
    form
  );
}
var socket = null;
function closeLive() {
  socket?.close(1e3, "leaving");
  socket = null;
}
async function renderConversations(root) {
  closeLive();
  heading(root, "Conversations", "Conversations you can read; messages arrive live.");
  const agents = can("agent.read") ? (await atrium.call((c) => c.GET("/agents", { params: { query: { limit: 100 } } }))).items : [];
  const list = h("ul", { class: "list", testid: "conversations-list" });
  const thread = h("div", { testid: "conversation-view", hidden: true });
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/conversations", { params: { query: { limit: 50 } } }));
    list.replaceChildren(
      ...page.items.map((cv) => {
        const open = h("button", { type: "button", class: "small", testid: "conversation-open", text: "Open" });
        open.addEventListener("click", () => void busy(open, () => openConversation(thread, cv, agents)));
        return h(
          "li",
          { class: "item", testid: "conversation-item", data: { conversationId: cv.id } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "conversation-title", text: cv.title || "Untitled" }),
            h("span", {
              class: "meta",
              text: [cv.agent_id ? `agent ${agents.find((a) => a.id === cv.agent_id)?.name || ""}` : "", cv.status, `updated ${when(cv.updated_at)}`].filter(Boolean).join(" · ")
            })
          ),
          h("div", { class: "row" }, open, shareButton("conversations", cv.id, cv.title || "this conversation"))
        );
      })
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "conversations-empty", text: "No conversations yet." }));
  };
  root.append(card("Conversations", "conversations-card", list), thread);
  if (can("conversation.create")) {
    const title = h("input", { testid: "conversation-new-title", attrs: { maxlength: "200" } });
    const agent = select("conversation-new-agent", [["", "No agent"], ...agents.map((a) => [a.id, a.name])]);
    const form = h("form", { testid: "conversation-form", attrs: { novalidate: "" } });
    form.append(field("Title", title), ...agents.length ? [field("Agent", agent)] : [], h("button", { type: "submit", class: "primary", testid: "conversation-submit", text: "Start conversation" }));
    onSubmit(form, async () => {
      const cv = await atrium.call(
        (c) => c.POST("/conversations", { body: { title: title.value.trim() || void 0, agent_id: agent.value || void 0 } })
      );
      form.reset();
      await load();
      await openConversation(thread, cv, agents);
      notify("Conversation started.");
    });
    root.append(card("New conversation", "conversation-new-card", form));
  }
  await load();
}
async function openConversation(thread, cv, agents) {
  closeLive();
  const messages = h("ol", { class: "messages", testid: "messages-list", attrs: { "aria-live": "polite" } });
  const live = h("p", { class: "meta", testid: "conversation-live", data: { state: "connecting" }, text: "Connecting…" });
  const seen = /* @__PURE__ */ new Set();
  const add = (m) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    messages.querySelector('[data-testid="message-streaming"]')?.remove();
    messages.append(
      h(
        "li",
        { class: `message ${m.role}`, testid: "message-item", data: { messageId: m.id, role: m.role } },
        h("span", { class: "meta", text: `${m.role} · ${when(m.created_at)}` }),
        h("p", { testid: "message-content", text: m.content })
      )
    );
  };
  const page = await atrium.call(
    (c) => c.GET("/conversations/{conversationId}/messages", { params: { path: { conversationId: cv.id }, query: { limit: 100 } } })
  );
  page.items.forEach(add);
  const content = h("textarea", { testid: "message-content-input", attrs: { rows: "3", maxlength: "32000" } });
  const ask = h("input", { type: "checkbox", testid: "message-reply" });
  const form = h("form", { testid: "message-form", attrs: { novalidate: "" } });
  const agent = agents.find((a) => a.id === cv.agent_id);
  form.append(
    field("Message", content),
    ...agent && can("llm.use") ? [h("label", { class: "check" }, ask, `Ask ${agent.name} to reply`)] : [],
    h("button", { type: "submit", class: "primary", testid: "message-submit", text: "Send" })
  );
  onSubmit(form, async () => {
    const text = content.value.trim();
    if (!text) throw new Error("Write a message.");
    const res = await atrium.call(
      (c) => c.POST("/conversations/{conversationId}/messages", {
        params: { path: { conversationId: cv.id } },
        body: { role: "user", content: text, reply: ask.checked || void 0 }
      })
    );
    add(res.message);
    if (res.reply) add(res.reply);
    form.reset();
  });
  thread.replaceChildren(
    card(
      cv.title || "Untitled",
      "conversation-card",
      live,
      messages,
      can("message.create") ? form : h("p", { class: "meta", text: "You can read this conversation." })
    )
  );
  thread.hidden = false;
  connectLive(cv.id, live, add, messages);
}
function connectLive(conversationId, live, add, messages) {
  const t = atrium.tokens();
  if (!t) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`;
  const ws = new WebSocket(url, ["atrium.v1", `bearer.${t.access_token}`]);
  socket = ws;
  const state = (s, text) => {
    live.dataset.state = s;
    live.textContent = text;
  };
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "subscribe", conversation_id: conversationId })));
  ws.addEventListener("message", (ev) => {
    let e;
    try {
      e = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if (e.conversation_id && e.conversation_id !== conversationId) return;
    switch (e.type) {
      case "subscribed":
      case "resumed":
        state("live", "Live: new messages appear as they are written.");
        break;
      case "message.created":
        add(e.data);
        break;
      case "assistant.token": {
        let s = messages.querySelector('[data-testid="message-streaming"]');
        if (!s) {
          s = h("li", { class: "message assistant", testid: "message-streaming" }, h("span", { class: "meta", text: "assistant · writing…" }), h("p"));
          messages.append(s);
        }
        const d = e.data || {};
        s.querySelector("p").textContent += String(d.token ?? d.text ?? d.delta ?? "");
        break;
      }
      case "assistant.done":
        break;
      // the reply arrives as message.created
      case "unsubscribed":
        state("closed", "No longer live: your access to this conversation ended.");
        break;
      case "error":
        state("error", `Live updates paused: ${String(e.data?.message || e.data?.code || "error")}`);
        break;
    }
  });
  ws.addEventListener("close", (ev) => {
    if (socket === ws) {
      socket = null;
      if (ev.code !== 1e3) state("closed", "Disconnected: reopen the conversation to see new messages.");
    }
  });
  ws.addEventListener("error", () => console.error(`atrium console: ${describe(new Error("WebSocket error"))}`));
}
async function renderAgents(root) {
  heading(root, "Agents", "An agent answers in conversations: its instructions, model and context documents.");
  const list = h("ul", { class: "list", testid: "agents-list" });
  let models = [];
  if ((can("agent.create") || can("agent.update")) && can("llm.use")) {
    try {
      models = (await atrium.call((c) => c.GET("/llm/models"))).items.map((m) => [m.id, `${m.id} (${m.provider})`]);
    } catch (e) {
      showError(e);
    }
  }
  const modelControl = (testid, value = "") => {
    if (!models.length) return h("input", { testid, value, attrs: { maxlength: "200" } });
    const options = value && !models.some(([id]) => id === value) ? [[value, value], ...models] : models;
    return select(testid, options, value);
  };
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/agents", { params: { query: { limit: 100 } } }));
    let editable = /* @__PURE__ */ new Set();
    if (can("agent.update") && page.items.length) {
      const res = await atrium.call(
        (c) => c.POST("/authz/check", {
          body: { checks: page.items.map((a) => ({ permission: "agent.update", resource_type: "agent", resource_id: a.id })) }
        })
      );
      editable = new Set(page.items.filter((_, i) => res.results[i]?.allowed).map((a) => a.id));
    }
    list.replaceChildren(
      ...page.items.map((a) => {
        const li = h(
          "li",
          { class: "item", testid: "agent-item", data: { agentId: a.id } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "agent-name", text: a.name }),
            h("span", {
              class: "meta",
              testid: "agent-meta",
              text: [a.model, a.description, `${a.document_ids.length} documents`, `${a.knowledge_graph_ids.length} graphs`].filter(Boolean).join(" · ")
            }),
            a.instructions ? h("span", { class: "excerpt", testid: "agent-instructions", text: a.instructions.slice(0, 200) }) : null
          )
        );
        const row = h("div", { class: "row" }, shareButton("agents", a.id, a.name));
        li.append(row);
        if (editable.has(a.id)) {
          const slot = h("div", { class: "inline", testid: "agent-edit-slot", hidden: true });
          const edit = h("button", { type: "button", class: "small", testid: "agent-edit", text: "Edit" });
          edit.addEventListener(
            "click",
            () => void busy(edit, async () => {
              if (!slot.hidden) {
                slot.hidden = true;
                slot.replaceChildren();
                return;
              }
              slot.replaceChildren(await agentEditForm(a, modelControl, load));
              slot.hidden = false;
            })
          );
          row.prepend(edit);
          li.append(slot);
        }
        return li;
      })
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "agents-empty", text: "No agents yet." }));
  };
  root.append(card("Agents", "agents-card", list));
  if (can("agent.create")) {
    const name = h("input", { testid: "agent-new-name", attrs: { maxlength: "200" } });
    const model = modelControl("agent-new-model");
    const instructions = h("textarea", { testid: "agent-new-instructions", attrs: { rows: "4" } });
    const form = h("form", { testid: "agent-form", attrs: { novalidate: "" } });
    form.append(field("Name", name), field("Model", model), field("Instructions", instructions), h("button", { type: "submit", class: "primary", testid: "agent-submit", text: "Create agent" }));
    onSubmit(form, async () => {
      if (!name.value.trim()) throw new Error("Enter a name.");
      if (!model.value.trim()) throw new Error("Choose a model.");
      await atrium.call((c) => c.POST("/agents", { body: { name: name.value.trim(), model: model.value.trim(), instructions: instructions.value } }));
      form.reset();
      await load();
      notify("Agent created.");
    });
    root.append(card("New agent", "agent-new-card", form));
  }
  await load();
}
async function agentEditForm(a, modelControl, reload) {
  const [docs, graphs] = await Promise.all([
    can("document.read") ? atrium.call((c) => c.GET("/documents", { params: { query: { limit: 100 } } })).then((p) => p.items) : Promise.resolve([]),
    can("knowledge.read") ? atrium.call((c) => c.GET("/knowledge-graphs", { params: { query: { limit: 100 } } })).then((p) => p.items) : Promise.resolve([])
  ]);
  const name = h("input", { testid: "agent-edit-name", value: a.name, attrs: { maxlength: "200" } });
  const desc = h("input", { testid: "agent-edit-description", value: a.description, attrs: { maxlength: "2000" } });
  const model = modelControl("agent-edit-model", a.model);
  const instructions = h("textarea", { testid: "agent-edit-instructions", value: a.instructions, attrs: { rows: "6", maxlength: "32000" } });
  const checks = (legend, testid, items, chosen) => {
    const fs = h("fieldset", { class: "group", testid }, h("legend", { text: legend }));
    for (const it of items) {
      const id = uid("ctx");
      fs.append(h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, value: it.id, checked: chosen.includes(it.id) }), it.label));
    }
    if (!items.length) fs.append(h("p", { class: "meta", text: "None you can read." }));
    return fs;
  };
  const docBox = checks("Context documents", "agent-edit-documents", docs.map((d) => ({ id: d.id, label: d.title })), a.document_ids);
  const graphBox = checks("Knowledge graphs", "agent-edit-graphs", graphs.map((g) => ({ id: g.id, label: g.name })), a.knowledge_graph_ids);
  const keep = (current, shown, box) => [
    ...current.filter((id) => !shown.some((s) => s.id === id)),
    ...[...box.querySelectorAll("input:checked")].map((i) => i.value)
  ];
  const form = h("form", { testid: "agent-edit-form", attrs: { novalidate: "" } });
  form.append(
    field("Name", name),
    field("Description", desc),
    field("Model", model),
    field("Instructions", instructions),
    docBox,
    graphBox,
    h("div", { class: "row" }, h("button", { type: "submit", class: "small primary-inline", testid: "agent-edit-save", text: "Save agent" }))
  );
  onSubmit(form, async () => {
    if (!name.value.trim()) throw new Error("Enter a name.");
    if (!model.value.trim()) throw new Error("Choose a model.");
    await atrium.call(
      (c) => c.PATCH("/agents/{agentId}", {
        params: { path: { agentId: a.id } },
        body: {
          name: name.value.trim(),
          description: desc.value.trim(),
          model: model.value.trim(),
          instructions: instructions.value,
          document_ids: keep(a.document_ids, docs, docBox),
          knowledge_graph_ids: keep(a.knowledge_graph_ids, graphs, graphBox)
        }
      })
    );
    await reload();
    notify(`Agent ${name.value.trim()} saved.`);
  });
  return form;
}
async function renderGraphs(root) {
  heading(
    root,
    "Knowledge graphs",
    "Nodes and the edges between them. The API has no node listing: a graph shows the nodes added here and those reached through a neighbourhood."
  );
  const list = h("ul", { class: "list", testid: "graphs-list" });
  const view = h("div", { testid: "graph-view", hidden: true });
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/knowledge-graphs", { params: { query: { limit: 100 } } }));
    list.replaceChildren(
      ...page.items.map((g) => {
        const open = h("button", { type: "button", class: "small", testid: "graph-open", text: "Open" });
        open.addEventListener("click", () => {
          openGraph(view, g);
        });
        return h(
          "li",
          { class: "item", testid: "graph-item", data: { graphId: g.id } },
          h("div", { class: "item-main" }, h("strong", { testid: "graph-name", text: g.name }), h("span", { class: "meta", text: g.description })),
          h("div", { class: "row" }, open, shareButton("knowledge-graphs", g.id, g.name))
        );
      })
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "graphs-empty", text: "No knowledge graphs yet." }));
  };
  root.append(card("Knowledge graphs", "graphs-card", list), view);
  if (can("knowledge.create")) {
    const name = h("input", { testid: "graph-new-name", attrs: { maxlength: "200" } });
    const desc = h("input", { testid: "graph-new-description", attrs: { maxlength: "500" } });
    const form = h("form", { testid: "graph-form", attrs: { novalidate: "" } });
    form.append(field("Name", name), field("Description", desc), h("button", { type: "submit", class: "primary", testid: "graph-submit", text: "Create graph" }));
    onSubmit(form, async () => {
      if (!name.value.trim()) throw new Error("Enter a name.");
      await atrium.call((c) => c.POST("/knowledge-graphs", { body: { name: name.value.trim(), description: desc.value.trim() || void 0 } }));
      form.reset();
      await load();
      notify("Knowledge graph created.");
    });
    root.append(card("New knowledge graph", "graph-new-card", form));
  }
  await load();
}
function openGraph(view, g) {
  const nodes = /* @__PURE__ */ new Map();
  const edges = /* @__PURE__ */ new Map();
  const nodeList = h("ul", { class: "list", testid: "graph-nodes" });
  const edgeList = h("ul", { class: "list", testid: "graph-edges" });
  const src = select("edge-source", []);
  const dst = select("edge-target", []);
  const label = (id) => nodes.get(id)?.label || id.slice(0, 8);
  const draw = () => {
    nodeList.replaceChildren(
      ...[...nodes.values()].map((n) => {
        const nb = h("button", { type: "button", class: "small", testid: "node-neighbourhood", text: "Neighbourhood" });
        nb.addEventListener(
          "click",
          () => void busy(nb, async () => {
            const res = await atrium.call(
              (c) => c.GET("/knowledge-graphs/{graphId}/nodes/{nodeId}/neighbourhood", { params: { path: { graphId: g.id, nodeId: n.id }, query: { depth: 1 } } })
            );
            res.nodes.forEach((x) => nodes.set(x.id, x));
            res.edges.forEach((x) => edges.set(x.id, x));
            draw();
            notify(`${res.nodes.length} nodes and ${res.edges.length} edges around ${n.label}.`);
          })
        );
        return h(
          "li",
          { class: "item", testid: "node-item", data: { nodeId: n.id } },
          h("div", { class: "item-main" }, h("strong", { testid: "node-label", text: n.label }), h("span", { class: "meta", text: n.type })),
          h("div", { class: "row" }, nb)
        );
      })
    );
    edgeList.replaceChildren(
      ...[...edges.values()].map(
        (e) => h("li", { class: "item", testid: "edge-item" }, h("span", { testid: "edge-text", text: `${label(e.source_id)} —${e.type}→ ${label(e.target_id)}` }))
      )
    );
    for (const sel of [src, dst]) {
      const v = sel.value;
      sel.replaceChildren(...[...nodes.values()].map((n) => h("option", { value: n.id, text: n.label })));
      if (v) sel.value = v;
    }
  };
  const parts = [h("p", { class: "meta", text: "Nodes" }), nodeList, h("p", { class: "meta", text: "Edges" }), edgeList];
  if (can("knowledge.update")) {
    const type = h("input", { testid: "node-new-type", attrs: { placeholder: "e.g. person" } });
    const lbl = h("input", { testid: "node-new-label" });
    const nf = h("form", { testid: "node-form", attrs: { novalidate: "" } });
    nf.append(field("Node label", lbl), field("Type", type), h("button", { type: "submit", class: "small", testid: "node-submit", text: "Add node" }));
    onSubmit(nf, async () => {
      if (!lbl.value.trim() || !type.value.trim()) throw new Error("Enter a label and a type.");
      const n = await atrium.call(
        (c) => c.POST("/knowledge-graphs/{graphId}/nodes", { params: { path: { graphId: g.id } }, body: { label: lbl.value.trim(), type: type.value.trim() } })
      );
      nodes.set(n.id, n);
      nf.reset();
      draw();
    });
    const etype = h("input", { testid: "edge-new-type", attrs: { placeholder: "e.g. knows" } });
    const ef = h("form", { testid: "edge-form", attrs: { novalidate: "" } });
    ef.append(field("From", src), field("Relation", etype), field("To", dst), h("button", { type: "submit", class: "small", testid: "edge-submit", text: "Add edge" }));
    onSubmit(ef, async () => {
      if (!src.value || !dst.value || !etype.value.trim()) throw new Error("Choose two nodes and a relation.");
      const e = await atrium.call(
        (c) => c.POST("/knowledge-graphs/{graphId}/edges", {
          params: { path: { graphId: g.id } },
          body: { source_id: src.value, target_id: dst.value, type: etype.value.trim() }
        })
      );
      edges.set(e.id, e);
      ef.reset();
      draw();
    });
    parts.push(nf, ef);
  }
  view.replaceChildren(card(g.name, "graph-card", ...parts));
  view.hidden = false;
  draw();
}
var workspacePages = [
  { id: "conversations", title: "Conversations", group: "workspace", allowed: (c) => c("conversation.read"), render: renderConversations },
  { id: "agents", title: "Agents", group: "workspace", allowed: (c) => c("agent.read"), render: renderAgents },
  { id: "graphs", title: "Knowledge", group: "workspace", allowed: (c) => c("knowledge.read"), render: renderGraphs }
];

// src/pages.ts
function card2(title, testid, ...children) {
  return h("section", { class: "card", testid }, h("h2", { text: title }), ...children);
}
function heading2(root, title, intro) {
  root.append(h("h1", { text: title, attrs: { tabindex: "-1" } }), h("p", { class: "meta", text: intro }));
}
function button(label, testid, fn, cls = "small") {
  const b = h("button", { type: "button", class: cls, testid, text: label });
  b.addEventListener("click", () => void busy(b, fn));
  return b;
}
function confirmButton(label, testid, question, fn) {
  const wrap = h("span", { class: "confirm-wrap" });
  const ask = h("button", { type: "button", class: "small danger", testid, text: label });
  const panel = h(
    "span",
    { class: "inline confirm", testid: `${testid}-panel`, hidden: true },
    h("span", { text: question }),
    button(label, `${testid}-confirm`, fn, "small danger"),
    h("button", { type: "button", class: "small", text: "Cancel", on: { click: () => (panel.hidden = true, ask.hidden = false) } })
  );
  ask.addEventListener("click", () => {
    panel.hidden = false;
    ask.hidden = true;
  });
  wrap.append(ask, panel);
  return wrap;
}
async function allPages(fetchPage, max = 10) {
  const out = [];
  let cursor;
  for (let i = 0; i < max; i++) {
    const p = await fetchPage(cursor);
    out.push(...p.items);
    if (!p.next_cursor) break;
    cursor = p.next_cursor;
  }
  return out;
}
var listMembers = () => allPages((cursor) => atrium.call((c) => c.GET("/members", { params: { query: { cursor, limit: 100 } } })));
var listRoles = async () => can("role.read") ? (await atrium.call((c) => c.GET("/roles"))).items : [];
function roleName(roles, id) {
  return roles.find((r) => r.id === id)?.name || id.slice(0, 8);
}
async function renderMembers(root, me2) {
  heading2(root, "Members", "Who belongs to this workspace, and with which roles.");
  const [members, roles] = await Promise.all([listMembers(), listRoles()]);
  const manage = can("member.manage");
  const list = h("ul", { class: "list", testid: "members-list" });
  const redraw = async () => {
    root.replaceChildren();
    await renderMembers(root, me2);
  };
  for (const m of members) {
    const li = h(
      "li",
      { class: "item", testid: "member-item", data: { userId: m.user_id, status: m.status } },
      h(
        "div",
        { class: "item-main" },
        h("strong", { testid: "member-name", text: m.display_name + (m.user_id === me2.user_id ? " (you)" : "") }),
        h("span", {
          class: "meta",
          testid: "member-meta",
          text: [m.role_ids.map((r) => roleName(roles, r)).join(", ") || "no role", m.status, `joined ${when(m.joined_at)}`].join(" · ")
        })
      )
    );
    if (manage && m.user_id !== me2.user_id) {
      const picker = h("fieldset", { class: "inline", testid: "member-roles-form", hidden: true });
      picker.append(h("legend", { text: `Roles of ${m.display_name}` }));
      for (const r of roles) {
        const id = uid("mr");
        picker.append(
          h(
            "label",
            { class: "check", for: id },
            h("input", { type: "checkbox", id, value: r.id, checked: m.role_ids.includes(r.id), data: { role: r.name } }),
            r.name
          )
        );
      }
      picker.append(
        h(
          "div",
          { class: "row" },
          button("Save roles", "member-roles-save", async () => {
            const ids = [...picker.querySelectorAll("input:checked")].map((i) => i.value);
            if (ids.length === 0) throw new Error("Choose at least one role.");
            await atrium.call((c) => c.PUT("/members/{userId}/roles", { params: { path: { userId: m.user_id } }, body: { role_ids: ids } }));
            await redraw();
            notify(`Roles of ${m.display_name} saved.`);
          }, "small primary-inline")
        )
      );
      const suspend = m.status === "active";
      li.append(
        h(
          "div",
          { class: "row" },
          h("button", {
            type: "button",
            class: "small",
            testid: "member-roles",
            text: "Roles",
            on: { click: () => picker.hidden = !picker.hidden }
          }),
          button(suspend ? "Suspend" : "Reactivate", suspend ? "member-suspend" : "member-reactivate", async () => {
            await atrium.call(
              (c) => c.PATCH("/members/{userId}", { params: { path: { userId: m.user_id } }, body: { status: suspend ? "suspended" : "active" } })
            );
            await redraw();
            notify(`${m.display_name} ${suspend ? "suspended" : "reactivated"}.`);
          }),
          confirmButton("Remove", "member-remove", `Remove ${m.display_name} from this workspace? Their sessions here end.`, async () => {
            await atrium.call((c) => c.DELETE("/members/{userId}", { params: { path: { userId: m.user_id } } }));
            await redraw();
            notify(`${m.display_name} removed.`);
          }),
          confirmButton(
            "Erase",
            "member-erase",
            `Erase ${m.display_name}'s account and personal data? This cannot be undone (only for someone who belongs to no other workspace).`,
            async () => {
              await atrium.call(
                (c) => c.POST("/members/{userId}/erasure", { params: { path: { userId: m.user_id } }, body: { confirm: "ERASE" } })
              );
              await redraw();
              notify(`${m.display_name} erased.`);
            }
          )
        ),
        picker
      );
    }
    list.append(li);
  }
  root.append(card2(`${members.length} member${members.length === 1 ? "" : "s"}`, "members-card", list));
}
async function renderInvitations(root) {
  heading2(root, "Invitations", "An invitation link lets one person create a passkey and join this workspace.");
  const roles = await listRoles();
  const roleSel = select("invite-role", roles.length ? roles.map((r) => [r.id, r.name]) : [["", "member"]], roles.find((r) => r.name === "member")?.id);
  const email = h("input", { type: "email", testid: "invite-email", attrs: { autocomplete: "off", placeholder: "Optional" } });
  const days = select("invite-expiry", [["1440", "1 day"], ["10080", "7 days"], ["43200", "30 days"]], "10080");
  const result = h("div", { class: "inline", testid: "invite-result", hidden: true });
  const form = h("form", { testid: "invite-form", attrs: { novalidate: "" } });
  form.append(
    field("Role", roleSel),
    field("Email (the link can then only be used by that address)", email),
    field("Expires after", days),
    h("button", { type: "submit", class: "primary", testid: "invite-submit", text: "Create invitation" })
  );
  const list = h("ul", { class: "list", testid: "invitations-list" });
  onSubmit(form, async () => {
    const created = await atrium.call(
      (c) => c.POST("/invitations", {
        body: {
          role_id: roleSel.value || void 0,
          email: email.value.trim() || void 0,
          expires_in_minutes: Number(days.value)
        }
      })
    );
    form.reset();
    const link = h("input", { testid: "invite-link", value: created.enrollment_url, attrs: { readonly: "" } });
    const copy = h("button", { type: "button", class: "small", testid: "invite-copy", text: "Copy link" });
    copy.addEventListener("click", async () => {
      link.select();
      try {
        await navigator.clipboard.writeText(created.enrollment_url);
        notify("Link copied.");
      } catch {
        notify("Select the link and copy it.");
      }
    });
    result.replaceChildren(
      h("p", { text: "Send this link to the person you invite. It is shown only now, and works once." }),
      link,
      h("div", { class: "row" }, copy)
    );
    result.hidden = false;
    await loadInvitations(list, roles);
  });
  root.append(card2("Invite someone", "invite-card", form, result), card2("Invitations", "invitations-card", list));
  await loadInvitations(list, roles);
}
async function loadInvitations(list, roles) {
  const res = await atrium.call((c) => c.GET("/invitations", { params: { query: { limit: 50 } } }));
  list.replaceChildren(
    ...res.items.map(
      (inv) => h(
        "li",
        { class: "item", testid: "invitation-item", data: { invitationId: inv.id, status: inv.status } },
        h(
          "div",
          { class: "item-main" },
          h("strong", { text: inv.email || (inv.purpose === "reenroll" ? "Re-enrollment" : "Anyone with the link") }),
          h("span", {
            class: "meta",
            testid: "invitation-meta",
            text: [inv.role_id ? roleName(roles, inv.role_id) : "member", inv.status, inv.status === "pending" ? `expires ${when(inv.expires_at)}` : ""].filter(Boolean).join(" · ")
          })
        ),
        inv.status === "pending" ? h(
          "div",
          { class: "row" },
          button("Revoke", "invitation-revoke", async () => {
            await atrium.call((c) => c.DELETE("/invitations/{invitationId}", { params: { path: { invitationId: inv.id } } }));
            await loadInvitations(list, roles);
            notify("Invitation revoked.");
          }, "small danger")
        ) : null
      )
    )
  );
}
function permissionPicker(catalog, selected, prefix) {
  const el = h("div", { class: "picker", testid: `${prefix}picker` });
  el.append(
    h("p", {
      class: "meta",
      text: "“resource.*” grants every permission on that resource, including ones added later; tick single permissions to grant only those."
    })
  );
  for (const g of catalog.groups) {
    const fs = h("fieldset", { class: "group" }, h("legend", { text: g.resource }));
    const wid = uid("p");
    const wildValue = `${g.resource}.*`;
    const wild = h("input", { type: "checkbox", id: wid, value: wildValue, testid: `${prefix}${wildValue}`, checked: selected.includes(wildValue) });
    fs.append(h("label", { class: "check", for: wid }, wild, `${g.resource}.* (all)`));
    const singles = [];
    for (const p of g.permissions) {
      const id = uid("p");
      const cb = h("input", { type: "checkbox", id, value: p.name, testid: `${prefix}${p.name}`, checked: selected.includes(p.name) });
      singles.push(cb);
      fs.append(h("label", { class: "check", for: id, title: p.description }, cb, p.name));
    }
    const sync = () => {
      for (const s of singles) {
        s.disabled = wild.checked;
        if (wild.checked) s.checked = false;
      }
    };
    wild.addEventListener("change", sync);
    sync();
    el.append(fs);
  }
  const known = new Set(catalog.groups.flatMap((g) => [`${g.resource}.*`, ...g.permissions.map((p) => p.name)]));
  const others = selected.filter((p) => !known.has(p));
  if (others.length) {
    const fs = h("fieldset", { class: "group" }, h("legend", { text: "other" }));
    for (const p of others) {
      const id = uid("p");
      fs.append(h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, value: p, testid: `${prefix}${p}`, checked: true }), p));
    }
    el.append(fs);
  }
  return { el, values: () => [...el.querySelectorAll("input:checked")].map((i) => i.value) };
}
async function renderRoles(root) {
  heading2(root, "Roles", "A role is a set of permissions. admin, member and viewer are built in; custom roles are this workspace's own.");
  const manage = can("role.manage");
  const [roles, catalog] = await Promise.all([listRoles(), manage ? atrium.call((c) => c.GET("/permissions")) : Promise.resolve(null)]);
  const redraw = async () => {
    root.replaceChildren();
    await renderRoles(root);
  };
  const list = h("ul", { class: "list", testid: "roles-list" });
  for (const r of roles) {
    const li = h(
      "li",
      { class: "item", testid: "role-item", data: { roleId: r.id, system: String(r.system) } },
      h(
        "div",
        { class: "item-main" },
        h("strong", { testid: "role-name", text: r.name + (r.system ? " (built in)" : "") }),
        h("span", { class: "meta", testid: "role-description", text: r.description }),
        h("span", { class: "meta perms", testid: "role-permissions", text: r.permissions.join(", ") }),
        h("span", { class: "meta", text: `${r.members} member${r.members === 1 ? "" : "s"}` })
      )
    );
    if (!r.system && manage && catalog) {
      const slot = h("div", { class: "inline", testid: "role-edit-slot", hidden: true });
      const edit = h("button", { type: "button", class: "small", testid: "role-edit", text: "Edit" });
      edit.addEventListener("click", () => {
        if (!slot.hidden) {
          slot.hidden = true;
          slot.replaceChildren();
          return;
        }
        const name2 = h("input", { testid: "role-edit-name", value: r.name, attrs: { maxlength: "100", autocomplete: "off" } });
        const desc2 = h("input", { testid: "role-edit-description", value: r.description, attrs: { maxlength: "1000", autocomplete: "off" } });
        const picker2 = permissionPicker(catalog, r.permissions, "edit-perm-");
        const form2 = h("form", { testid: "role-edit-form", attrs: { novalidate: "" } });
        form2.append(
          field("Name", name2),
          field("Description", desc2),
          picker2.el,
          h(
            "div",
            { class: "row" },
            h("button", { type: "submit", class: "small primary-inline", testid: "role-edit-save", text: "Save role" }),
            h("button", { type: "button", class: "small", text: "Cancel", on: { click: () => edit.click() } })
          )
        );
        onSubmit(form2, async () => {
          const permissions = picker2.values();
          if (!name2.value.trim()) throw new Error("Enter a name.");
          if (permissions.length === 0) throw new Error("Choose at least one permission.");
          await atrium.call(
            (c) => c.PATCH("/roles/{roleId}", {
              params: { path: { roleId: r.id } },
              body: { name: name2.value.trim(), description: desc2.value.trim(), permissions }
            })
          );
          await redraw();
          notify(`Role ${name2.value.trim()} saved.`);
        });
        slot.replaceChildren(form2);
        slot.hidden = false;
      });
      li.append(
        h(
          "div",
          { class: "row" },
          edit,
          confirmButton("Delete", "role-delete", `Delete the role ${r.name}?`, async () => {
            await atrium.call((c) => c.DELETE("/roles/{roleId}", { params: { path: { roleId: r.id } } }));
            await redraw();
            notify(`Role ${r.name} deleted.`);
          })
        ),
        slot
      );
    }
    list.append(li);
  }
  root.append(card2("Roles", "roles-card", list));
  if (!manage || !catalog) return;
  const name = h("input", { testid: "role-new-name", attrs: { maxlength: "100", autocomplete: "off" } });
  const desc = h("input", { testid: "role-new-description", attrs: { maxlength: "1000", autocomplete: "off" } });
  const picker = permissionPicker(catalog, [], "perm-");
  picker.el.dataset.testid = "permission-picker";
  const form = h("form", { testid: "role-form", attrs: { novalidate: "" } });
  form.append(
    field("Name", name),
    field("Description", desc),
    picker.el,
    h("button", { type: "submit", class: "primary", testid: "role-submit", text: "Create role" })
  );
  onSubmit(form, async () => {
    const permissions = picker.values();
    if (!name.value.trim()) throw new Error("Enter a name.");
    if (permissions.length === 0) throw new Error("Choose at least one permission.");
    await atrium.call((c) => c.POST("/roles", { body: { name: name.value.trim(), description: desc.value.trim(), permissions } }));
    await redraw();
    notify("Role created.");
  });
  root.append(card2("New custom role", "role-new-card", form));
}
async function renderTeams(root) {
  heading2(root, "Teams", "Teams group members, so that resources can be shared with all of them at once.");
  const [teams, members] = await Promise.all([
    allPages((cursor) => atrium.call((c) => c.GET("/teams", { params: { query: { cursor, limit: 100 } } }))),
    can("member.read") ? listMembers() : Promise.resolve([])
  ]);
  const manage = can("team.manage");
  const nameOf = (id) => members.find((m) => m.user_id === id)?.display_name || id.slice(0, 8);
  const redraw = async () => {
    root.replaceChildren();
    await renderTeams(root);
  };
  const list = h("ul", { class: "list", testid: "teams-list" });
  for (const t of teams) {
    const li = h(
      "li",
      { class: "item", testid: "team-item", data: { teamId: t.id } },
      h(
        "div",
        { class: "item-main" },
        h("strong", { testid: "team-name", text: t.name }),
        t.description ? h("span", { class: "meta", testid: "team-description", text: t.description }) : null,
        h("span", { class: "meta", testid: "team-members", text: t.member_ids.map(nameOf).join(", ") || "No members yet" })
      )
    );
    if (manage) {
      const name2 = h("input", { testid: "team-edit-name", value: t.name, attrs: { maxlength: "100", autocomplete: "off" } });
      const desc2 = h("input", { testid: "team-edit-description", value: t.description, attrs: { maxlength: "1000", autocomplete: "off" } });
      const editForm = h("form", { class: "inline", testid: "team-edit-form", hidden: true, attrs: { novalidate: "" } });
      editForm.append(
        field("Name", name2),
        field("Description", desc2),
        h("div", { class: "row" }, h("button", { type: "submit", class: "small primary-inline", testid: "team-edit-save", text: "Save team" }))
      );
      onSubmit(editForm, async () => {
        if (!name2.value.trim()) throw new Error("Enter a name.");
        await atrium.call(
          (c) => c.PATCH("/teams/{teamId}", { params: { path: { teamId: t.id } }, body: { name: name2.value.trim(), description: desc2.value.trim() } })
        );
        await redraw();
        notify(`Team ${name2.value.trim()} saved.`);
      });
      const others = members.filter((m) => !t.member_ids.includes(m.user_id));
      const who = select("team-add-who", others.map((m) => [m.user_id, m.display_name]));
      li.append(
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "small", testid: "team-edit", text: "Edit", on: { click: () => editForm.hidden = !editForm.hidden } }),
          others.length ? who : null,
          others.length ? button("Add", "team-add-member", async () => {
            await atrium.call((c) => c.PUT("/teams/{teamId}/members/{userId}", { params: { path: { teamId: t.id, userId: who.value } } }));
            await redraw();
            notify("Member added to the team.");
          }) : null,
          ...t.member_ids.map(
            (id) => button(`Remove ${nameOf(id)}`, "team-remove-member", async () => {
              await atrium.call((c) => c.DELETE("/teams/{teamId}/members/{userId}", { params: { path: { teamId: t.id, userId: id } } }));
              await redraw();
              notify("Member removed from the team.");
            })
          ),
          confirmButton("Delete team", "team-delete", `Delete ${t.name} and the shares made to it?`, async () => {
            await atrium.call((c) => c.DELETE("/teams/{teamId}", { params: { path: { teamId: t.id } } }));
            await redraw();
            notify("Team deleted.");
          })
        ),
        editForm
      );
    }
    list.append(li);
  }
  root.append(card2("Teams", "teams-card", list));
  if (!manage) return;
  const name = h("input", { testid: "team-new-name", attrs: { maxlength: "100", autocomplete: "off" } });
  const desc = h("input", { testid: "team-new-description", attrs: { maxlength: "500", autocomplete: "off" } });
  const form = h("form", { testid: "team-form", attrs: { novalidate: "" } });
  form.append(field("Name", name), field("Description", desc), h("button", { type: "submit", class: "primary", testid: "team-submit", text: "Create team" }));
  onSubmit(form, async () => {
    if (!name.value.trim()) throw new Error("Enter a name.");
    await atrium.call((c) => c.POST("/teams", { body: { name: name.value.trim(), description: desc.value.trim() || void 0 } }));
    await redraw();
    notify("Team created.");
  });
  root.append(card2("New team", "team-new-card", form));
}
async function renderServiceAccounts(root) {
  heading2(
    root,
    "Service accounts",
    "Identities for backend services: roles like a member, and public keys only. A service signs a short assertion with its private key and exchanges it at /auth/token (docs/api.md)."
  );
  const [accounts, roles] = await Promise.all([
    allPages(
      (cursor) => atrium.call((c) => c.GET("/service-accounts", { params: { query: { cursor, limit: 100 } } }))
    ),
    listRoles()
  ]);
  const redraw = async () => {
    root.replaceChildren();
    await renderServiceAccounts(root);
  };
  const list = h("ul", { class: "list", testid: "service-accounts-list" });
  for (const a of accounts) {
    const keys = h("ul", { class: "list", testid: "service-account-keys" });
    for (const k of a.keys || []) {
      const status = k.revoked_at ? "revoked" : k.active ? "active" : "expired";
      keys.append(
        h(
          "li",
          { class: "item", testid: "service-account-key", data: { kid: k.kid, status } },
          h(
            "div",
            { class: "item-main" },
            h("code", { text: k.kid }),
            h("span", { class: "meta", text: `${k.alg} · ${status}${k.last_used_at ? ` · last used ${when(k.last_used_at)}` : ""}` }),
            // The RFC 7638 thumbprint, to compare with the key the service
            // holds (e.g. `jose jwk thp`); the kid is it unless one was given.
            h("span", { class: "meta" }, "thumbprint ", h("code", { testid: "service-account-key-thumbprint", text: k.thumbprint }))
          ),
          !k.revoked_at ? confirmButton("Revoke key", "service-account-key-revoke", `Revoke key ${k.kid}? Services using it stop at once.`, async () => {
            await atrium.call(
              (c) => c.DELETE("/service-accounts/{serviceAccountId}/keys/{keyId}", { params: { path: { serviceAccountId: a.id, keyId: k.id } } })
            );
            await redraw();
            notify("Key revoked.");
          }) : null
        )
      );
    }
    const pem = h("textarea", { testid: "service-account-key-pem", attrs: { rows: "4", placeholder: "-----BEGIN PUBLIC KEY-----" } });
    const addKey = h("form", { testid: "service-account-key-form", attrs: { novalidate: "" } });
    addKey.append(field("Public key (PEM or JWK)", pem), h("button", { type: "submit", class: "small", text: "Add key" }));
    onSubmit(addKey, async () => {
      if (!pem.value.trim()) throw new Error("Paste a public key (PEM or a public JWK).");
      await atrium.call(
        (c) => c.POST("/service-accounts/{serviceAccountId}/keys", { params: { path: { serviceAccountId: a.id } }, body: { public_key: pem.value.trim() } })
      );
      await redraw();
      notify("Key added.");
    });
    list.append(
      h(
        "li",
        { class: "item", testid: "service-account-item", data: { serviceAccountId: a.id, disabled: String(!!a.disabled) } },
        h(
          "div",
          { class: "item-main" },
          h("strong", { testid: "service-account-name", text: a.name }),
          h("span", { class: "meta", text: `id ${a.id}` }),
          h("span", { class: "meta", text: `roles: ${a.role_ids.map((id) => roleName(roles, id)).join(", ") || "none"}${a.disabled ? " · disabled" : ""}` })
        ),
        keys,
        addKey,
        h(
          "div",
          { class: "row" },
          button(a.disabled ? "Enable" : "Disable", "service-account-toggle", async () => {
            await atrium.call(
              (c) => c.PATCH("/service-accounts/{serviceAccountId}", { params: { path: { serviceAccountId: a.id } }, body: { disabled: !a.disabled } })
            );
            await redraw();
            notify(a.disabled ? "Service account enabled." : "Service account disabled.");
          }),
          confirmButton("Delete", "service-account-delete", `Delete ${a.name} and its keys?`, async () => {
            await atrium.call((c) => c.DELETE("/service-accounts/{serviceAccountId}", { params: { path: { serviceAccountId: a.id } } }));
            await redraw();
            notify("Service account deleted.");
          })
        )
      )
    );
  }
  if (!accounts.length) list.append(h("li", { class: "item meta", testid: "service-accounts-empty", text: "No service accounts." }));
  root.append(card2("Service accounts", "service-accounts-card", list));
  const name = h("input", { testid: "service-account-new-name", attrs: { maxlength: "100", autocomplete: "off" } });
  const role = select(
    "service-account-new-role",
    roles.map((r) => [r.id, r.name]),
    roles.find((r) => r.name === "member")?.id
  );
  const form = h("form", { testid: "service-account-form", attrs: { novalidate: "" } });
  form.append(field("Name", name), field("Role", role), h("button", { type: "submit", class: "primary", testid: "service-account-submit", text: "Create service account" }));
  onSubmit(form, async () => {
    if (!name.value.trim()) throw new Error("Enter a name.");
    await atrium.call((c) => c.POST("/service-accounts", { body: { name: name.value.trim(), role_ids: role.value ? [role.value] : [] } }));
    await redraw();
    notify("Service account created. Add its public key to let it sign in.");
  });
  root.append(card2("New service account", "service-account-new-card", form));
}
async function renderSettings(root) {
  heading2(root, "Workspace settings", "The workspace's name, what happens to an erased member's resources, and its LLM quota.");
  const s = await atrium.call((c) => c.GET("/tenant"));
  const name = h("input", { testid: "settings-name", value: s.name, attrs: { maxlength: "200" } });
  const policy = select(
    "settings-erasure",
    [
      ["delete", "Delete them"],
      ["transfer", "Hand them over to the workspace"]
    ],
    s.erasure_policy
  );
  const quota = h("input", {
    type: "number",
    testid: "settings-quota",
    value: s.llm_monthly_tokens === void 0 ? "" : String(s.llm_monthly_tokens),
    attrs: { min: "0", step: "1000", placeholder: "Deployment default" }
  });
  const form = h("form", { testid: "settings-form", attrs: { novalidate: "" } });
  form.append(
    h("p", { class: "meta", testid: "settings-slug", text: `Slug ${s.slug} · ${s.status} · created ${when(s.created_at)}` }),
    field("Name", name),
    field("When a member is erased, their resources are", policy),
    field("Monthly LLM tokens (0 is unlimited; empty uses the deployment's)", quota),
    h("p", {
      class: "meta",
      testid: "settings-quota-effective",
      text: `In force this month: ${s.llm_monthly_tokens_effective === 0 ? "unlimited" : `${s.llm_monthly_tokens_effective.toLocaleString()} tokens`}`
    }),
    h("button", { type: "submit", class: "primary", testid: "settings-submit", text: "Save settings" })
  );
  onSubmit(form, async () => {
    const body = {
      name: name.value.trim(),
      erasure_policy: policy.value
    };
    if (quota.value.trim() === "") body.llm_monthly_tokens_default = true;
    else body.llm_monthly_tokens = Number(quota.value);
    await atrium.call((c) => c.PATCH("/tenant", { body }));
    root.replaceChildren();
    await renderSettings(root);
    notify("Settings saved.");
  });
  root.append(card2("Settings", "settings-card", form));
}
async function renderAudit(root) {
  heading2(
    root,
    "Audit trail",
    "Every security-relevant action, newest first. Each event is a link in a hash chain: “Verify chain” checks every link on the server (as `atrium audit verify` does), and the export carries chain, seq and hash."
  );
  const verdict = h("p", { class: "verdict", testid: "audit-verify-status", data: { state: "unknown" }, text: "Not verified yet." });
  const verify = async () => {
    const v = await atrium.call((c) => c.GET("/audit-events/verify"));
    const n = `${v.events.toLocaleString()} event${v.events === 1 ? "" : "s"}`;
    verdict.dataset.state = v.verified ? "verified" : "broken";
    verdict.dataset.events = String(v.events);
    verdict.dataset.head = String(v.head_seq);
    if (v.verified) {
      verdict.dataset.broken = "";
      verdict.textContent = v.events === 0 ? "✓ Verified: the trail is empty." : `✓ Verified: ${n} up to seq ${v.head_seq}, every hash intact.`;
    } else {
      const why = { edited: "its content was changed", missing: "it is missing", reordered: "it was moved" }[v.reason || "edited"];
      verdict.dataset.broken = String(v.broken_seq ?? "");
      verdict.textContent = `✗ Broken at seq ${v.broken_seq}: ${why}. Checked ${n}. Tell your operator (atrium audit verify names every problem).`;
    }
  };
  const verifyButton = button("Verify chain", "audit-verify", verify);
  root.append(card2("Chain verification", "audit-verify-card", verdict, h("div", { class: "row" }, verifyButton)));
  void verify().catch((e) => {
    verdict.dataset.state = "error";
    verdict.textContent = `Not verified: ${e instanceof Error ? e.message : String(e)}`;
  });
  const action = h("input", { testid: "audit-action", attrs: { placeholder: "e.g. auth.login", autocomplete: "off" } });
  const outcome = select("audit-outcome", [["", "Any"], ["success", "success"], ["failure", "failure"], ["denied", "denied"]]);
  const since = h("input", { type: "date", testid: "audit-since" });
  const until = h("input", { type: "date", testid: "audit-until" });
  const list = h("ul", { class: "list audit", testid: "audit-list" });
  const status = h("p", { class: "meta", testid: "audit-chain" });
  const more = h("button", { type: "button", class: "small", testid: "audit-more", text: "Older events", hidden: true });
  let cursor;
  let lastSeq;
  let gaps = 0;
  const query = () => ({
    action: action.value.trim() || void 0,
    outcome: outcome.value || void 0,
    since: since.value ? (/* @__PURE__ */ new Date(`${since.value}T00:00:00`)).toISOString() : void 0,
    until: until.value ? (/* @__PURE__ */ new Date(`${until.value}T23:59:59.999`)).toISOString() : void 0
  });
  const filtered = () => Object.values(query()).some(Boolean);
  const load = async (reset) => {
    if (reset) {
      cursor = void 0;
      lastSeq = void 0;
      gaps = 0;
      list.replaceChildren();
    }
    const page = await atrium.call((c) => c.GET("/audit-events", { params: { query: { ...query(), cursor, limit: 50 } } }));
    for (const e of page.items) {
      if (!filtered() && lastSeq !== void 0 && e.seq !== lastSeq - 1) gaps++;
      lastSeq = e.seq;
      list.append(
        h(
          "li",
          { class: "item", testid: "audit-item", data: { outcome: e.outcome, action: e.action } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "audit-item-action", text: `${e.action} · ${e.outcome}` }),
            h("span", {
              class: "meta",
              text: [when(e.occurred_at), e.resource_type ? `${e.resource_type} ${e.resource_id?.slice(0, 8) || ""}` : "", `#${e.seq}`].filter(Boolean).join(" · ")
            }),
            e.details && Object.keys(e.details).length ? h("span", { class: "meta", text: Object.entries(e.details).map(([k, v]) => `${k}=${v}`).join(" ") }) : null
          )
        )
      );
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    status.textContent = filtered() ? "Filtered: chain continuity is shown for the unfiltered trail." : gaps === 0 ? `Chain continuous over the ${list.childElementCount} events shown (sequence numbers without gaps).` : `${gaps} gap${gaps === 1 ? "" : "s"} in the sequence numbers shown: run \`atrium audit verify\`.`;
    status.dataset.state = filtered() ? "filtered" : gaps === 0 ? "continuous" : "gaps";
  };
  more.addEventListener("click", () => void busy(more, () => load(false)));
  const form = h("form", { testid: "audit-filters", class: "filters", attrs: { novalidate: "" } });
  form.append(
    field("Action", action),
    field("Outcome", outcome),
    field("Since", since),
    field("Until", until),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "small", testid: "audit-apply", text: "Apply filters" }),
      button("Export NDJSON", "audit-export", async () => {
        const blob = await atrium.call((c) => c.GET("/audit-events/export", { params: { query: query() }, parseAs: "blob" }));
        const a = h("a", { attrs: { download: `audit-${(/* @__PURE__ */ new Date()).toISOString().slice(0, 10)}.ndjson` } });
        a.href = URL.createObjectURL(blob);
        a.dataset.testid = "audit-download";
        a.dataset.bytes = String(blob.size);
        document.body.append(a);
        a.click();
        setTimeout(() => {
          URL.revokeObjectURL(a.href);
          a.remove();
        }, 6e4);
        notify(`Exported ${blob.size.toLocaleString()} bytes.`);
      })
    )
  );
  onSubmit(form, () => load(true));
  root.append(card2("Filters", "audit-filters-card", form), card2("Events", "audit-card", status, list, more));
  await load(true);
}
async function renderDocuments(root) {
  heading2(root, "Documents", "Text and Markdown documents of this workspace that you can read.");
  const q = h("input", { type: "search", testid: "documents-search", attrs: { placeholder: "Search title or content" } });
  const list = h("ul", { class: "list", testid: "documents-list" });
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/documents", { params: { query: { q: q.value.trim() || void 0, limit: 50 } } }));
    list.replaceChildren(
      ...page.items.map(
        (d) => h(
          "li",
          { class: "item", testid: "document-item", data: { documentId: d.id } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "document-title", text: d.title }),
            h("span", { class: "meta", text: [d.content_type, d.tags.join(", "), `updated ${when(d.updated_at)}`].filter(Boolean).join(" · ") }),
            h("span", { class: "excerpt", text: d.content.slice(0, 200) })
          ),
          h(
            "div",
            { class: "row" },
            shareButton("documents", d.id, d.title),
            can("document.delete") ? confirmButton("Delete", "document-delete", `Delete ${d.title}?`, async () => {
              await atrium.call((c) => c.DELETE("/documents/{documentId}", { params: { path: { documentId: d.id } } }));
              await load();
              notify("Document deleted.");
            }) : null
          )
        )
      )
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "documents-empty", text: "No documents." }));
  };
  const search = h("form", { testid: "documents-search-form", attrs: { novalidate: "" } });
  search.append(field("Search", q), h("button", { type: "submit", class: "small", text: "Search" }));
  onSubmit(search, load);
  root.append(card2("Documents", "documents-card", search, list));
  if (can("document.create")) {
    const title = h("input", { testid: "document-new-title", attrs: { maxlength: "200" } });
    const content = h("textarea", { testid: "document-new-content", attrs: { rows: "6" } });
    const ctype = select("document-new-type", [["text/markdown", "Markdown"], ["text/plain", "Plain text"]], "text/markdown");
    const tags = h("input", { testid: "document-new-tags", attrs: { placeholder: "comma, separated" } });
    const form = h("form", { testid: "document-form", attrs: { novalidate: "" } });
    form.append(
      field("Title", title),
      field("Content", content),
      field("Format", ctype),
      field("Tags", tags),
      h("button", { type: "submit", class: "primary", testid: "document-submit", text: "Create document" })
    );
    onSubmit(form, async () => {
      if (!title.value.trim()) throw new Error("Enter a title.");
      await atrium.call(
        (c) => c.POST("/documents", {
          body: {
            title: title.value.trim(),
            content: content.value,
            content_type: ctype.value,
            tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean)
          }
        })
      );
      form.reset();
      await load();
      notify("Document created.");
    });
    root.append(card2("New document", "document-new-card", form));
  }
  await load();
}
var pages = [
  ...workspacePages,
  { id: "documents", title: "Documents", group: "workspace", allowed: (c) => c("document.read"), render: renderDocuments },
  { id: "members", title: "Members", group: "admin", allowed: (c) => c("member.read"), render: renderMembers },
  { id: "invitations", title: "Invitations", group: "admin", allowed: (c) => c("member.manage"), render: renderInvitations },
  { id: "roles", title: "Roles", group: "admin", allowed: (c) => c("role.read"), render: renderRoles },
  { id: "teams", title: "Teams", group: "admin", allowed: (c) => c("team.read"), render: renderTeams },
  { id: "service-accounts", title: "Service accounts", group: "admin", allowed: (c) => c("service_account.manage"), render: renderServiceAccounts },
  { id: "settings", title: "Settings", group: "admin", allowed: (c) => c("tenant.manage"), render: renderSettings },
  { id: "audit", title: "Audit", group: "admin", allowed: (c) => c("audit.read"), render: renderAudit }
];

// src/main.ts
var INVITE_KEY = "atrium.invitation";
onViewChange(closeLive);
onSessionEnded(() => {
  showView("signin");
  notify("Your session has ended. Sign in again.");
});
function passkeysSupported() {
  const PKC = window.PublicKeyCredential;
  return window.isSecureContext && typeof PKC === "function" && typeof PKC.parseCreationOptionsFromJSON === "function" && typeof PKC.parseRequestOptionsFromJSON === "function";
}
async function createCredential(options) {
  setCeremony("create");
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
    options.public_key
  );
  const cred = await navigator.credentials.create({ publicKey });
  if (!cred) throw new Error("No passkey was created.");
  return cred.toJSON();
}
async function getCredential(options) {
  setCeremony("signin");
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(
    options.public_key
  );
  const cred = await navigator.credentials.get({ publicKey });
  if (!cred) throw new Error("No passkey was chosen.");
  return cred.toJSON();
}
async function signIn() {
  const options = await atrium.anonymous((c) => c.POST("/auth/device/login/options"));
  const credential = await getCredential(options);
  const tokens = await atrium.anonymous(
    (c) => c.POST("/auth/device/login", { body: { ceremony_id: options.ceremony_id, credential } })
  );
  atrium.setTokens(tokens);
  await showConsole();
}
function invitationUnusable(e) {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408;
}
var toSignIn = { label: "Go to sign in", run: () => leaveEnroll() };
function leaveEnroll() {
  sessionStorage.removeItem(INVITE_KEY);
  history.replaceState(null, "", "/");
  if (atrium.tokens()) void showConsole().catch(showError);
  else showView("signin");
}
async function enroll(form) {
  const invitation = sessionStorage.getItem(INVITE_KEY);
  const el = form.elements;
  if (!invitation) {
    showError(new Error("This invitation link has already been used. Ask for a new one, or sign in."), toSignIn);
    return;
  }
  const displayName = el.display_name.value.trim();
  if (!displayName) {
    el.display_name.focus();
    throw new Error("Enter your name.");
  }
  let options;
  try {
    options = await atrium.anonymous(
      (c) => c.POST("/auth/device/register/options", { body: { invitation, display_name: displayName } })
    );
  } catch (e) {
    if (!invitationUnusable(e)) throw e;
    sessionStorage.removeItem(INVITE_KEY);
    const detail = e.detail || "This invitation cannot be used.";
    const err = new ApiError({
      status: e.status,
      title: e.title,
      detail: `${detail.replace(/\.?$/, ".")} This invitation link cannot be used again: ask your administrator for a new one, or sign in if you already have a passkey.`,
      request_id: e.requestId
    });
    showError(err, toSignIn);
    return;
  }
  const credential = await createCredential(options);
  const res = await atrium.anonymous(
    (c) => c.POST("/auth/device/register", {
      body: { ceremony_id: options.ceremony_id, credential, device_name: el.device_name.value.trim() || void 0 }
    })
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
async function addDevice(form) {
  const input = $("add-device-name");
  const options = await atrium.call((c) => c.POST("/auth/device/register/options", { body: {} }));
  const credential = await createCredential(options);
  await atrium.call(
    (c) => c.POST("/auth/device/register", {
      body: { ceremony_id: options.ceremony_id, credential, device_name: input.value.trim() || void 0 }
    }),
    { once: true }
  );
  form.reset();
  await loadDevices();
  notify("Device added.");
}
async function signOut() {
  try {
    await atrium.signOut();
  } catch (e) {
    showView("signin");
    if (e instanceof SessionEndedError) return;
    throw e;
  }
  showView("signin");
  notify("You are signed out.");
}
async function switchTenant(tenantId) {
  await atrium.switchTenant(tenantId);
  await showConsole();
  notify("Workspace switched.");
}
var devices = [];
var currentDeviceId = "";
var currentPage = "account";
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
function visiblePages() {
  return pages.filter((p) => p.allowed(can));
}
function renderNav() {
  const nav = $("nav");
  const list = visiblePages();
  nav.replaceChildren(
    h(
      "button",
      { type: "button", class: "tab", testid: "nav-account", data: { page: "account" }, on: { click: () => void go("account") } },
      "Account"
    ),
    ...list.map(
      (p) => h("button", { type: "button", class: "tab", testid: `nav-${p.id}`, data: { page: p.id }, on: { click: () => void go(p.id) } }, p.title)
    )
  );
  nav.hidden = list.length === 0;
}
async function go(id) {
  clearMessages();
  try {
    await openPage(id, true);
  } catch (e) {
    showError(e);
  }
}
async function openPage(id, focus) {
  currentPage = id;
  closeLive();
  for (const b of document.querySelectorAll('[data-testid="nav"] .tab')) {
    if (b.dataset.page === id) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  const account = $("page-account");
  const host = $("page");
  if (id === "account") {
    account.hidden = false;
    host.hidden = true;
    host.replaceChildren();
    await loadDevices();
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
  await page.render(root, me);
  if (focus) root.querySelector("h1")?.focus();
}
function renderTenants(items, activeId) {
  const sel = $("tenant-select");
  sel.replaceChildren(
    ...items.map((t) => {
      const o = h("option", { value: t.tenant_id, text: t.name });
      o.selected = Boolean(t.active) || t.tenant_id === activeId;
      return o;
    })
  );
  sel.disabled = items.length < 2;
}
async function loadDevices() {
  const res = await atrium.call((c) => c.GET("/me/devices"));
  devices = res.items || [];
  const tpl = document.getElementById("device-item");
  $("devices-list").replaceChildren(...devices.map((d, i) => renderDevice(tpl, d, i)));
}
function renderDevice(tpl, d, i) {
  const li = tpl.content.firstElementChild.cloneNode(true);
  li.dataset.deviceId = d.id;
  const q = (id) => $(id, li);
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
  q("device-rename-cancel").addEventListener("click", () => renameForm.hidden = true);
  onSubmit(renameForm, async () => {
    const name = input.value.trim();
    if (!name) throw new Error("Enter a name.");
    await atrium.call((c) => c.PATCH("/me/devices/{deviceId}", { params: { path: { deviceId: d.id } }, body: { name } }));
    await loadDevices();
    notify("Device renamed.");
  });
  const panel = q("device-remove-panel");
  const last = devices.length === 1;
  const close = q("device-close-account");
  q("device-remove").setAttribute("aria-label", `Remove ${d.name || "device"}`);
  q("device-rename").setAttribute("aria-label", `Rename ${d.name || "device"}`);
  q("device-remove").addEventListener("click", () => {
    li.querySelector('[data-role="remove-text"]').textContent = last ? "This is your only passkey. Removing it closes your account: every session ends and you can no longer sign in." : d.id === currentDeviceId ? "You signed in here with this passkey: removing it also signs you out here." : "Remove this passkey? Sessions opened with it end now.";
    li.querySelector('[data-role="close-label"]').hidden = !last;
    close.checked = false;
    q("device-remove-confirm").textContent = last ? "Remove and close account" : "Remove";
    panel.hidden = false;
  });
  q("device-remove-cancel").addEventListener("click", () => panel.hidden = true);
  q("device-remove-confirm").addEventListener(
    "click",
    (ev) => busy(ev.currentTarget, async () => {
      if (last && !close.checked) throw new Error("Tick “Yes, close my account” to remove your only passkey.");
      await atrium.call(
        (c) => c.DELETE("/me/devices/{deviceId}", {
          params: { path: { deviceId: d.id }, query: last ? { close_account: true } : {} }
        })
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
    })
  );
  return li;
}
async function loadSessions() {
  const res = await atrium.call((c) => c.GET("/me/sessions"));
  const names = new Map(devices.map((d) => [d.id, d.name]));
  const tpl = document.getElementById("session-item");
  const items = (res.items || []).slice().sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
  currentDeviceId = items.find((s) => s.current)?.device_id || "";
  $("sessions-list").replaceChildren(
    ...items.map((s) => {
      const li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.sessionId = s.id;
      li.dataset.current = String(Boolean(s.current));
      const q = (id) => $(id, li);
      const device = s.device_id && names.get(s.device_id) || "Unknown device";
      q("session-title").textContent = device;
      if (s.current) q("session-title").after(h("span", { class: "badge", testid: "session-current", text: "This session" }));
      q("session-meta").textContent = `Signed in ${when(s.created_at)} · last seen ${when(s.last_seen_at)}`;
      const btn = q("session-revoke");
      if (s.current) {
        btn.textContent = "Sign out";
        btn.className = "small";
        btn.setAttribute("aria-label", "Sign out of this session");
        btn.addEventListener("click", (ev) => busy(ev.currentTarget, signOut));
      } else {
        btn.setAttribute("aria-label", `Revoke session on ${device}`);
        btn.addEventListener(
          "click",
          (ev) => busy(ev.currentTarget, async () => {
            await atrium.call((c) => c.DELETE("/me/sessions/{sessionId}", { params: { path: { sessionId: s.id } } }));
            await loadSessions();
            notify("Session revoked.");
          })
        );
      }
      return li;
    })
  );
}
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
  return false;
}
function showEnroll() {
  showView("enroll");
  const form = $("enroll-form");
  form.reset();
  const signedIn = atrium.tokens() !== null;
  form.hidden = signedIn;
  $("enroll-signin-hint").hidden = signedIn;
  $("enroll-join").hidden = !signedIn;
  if (signedIn) $("enroll-join-button").focus();
  else $("enroll-display-name").focus();
}
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
  $("error-dismiss").addEventListener("click", () => $("error").hidden = true);
  $("signin-button").addEventListener("click", (ev) => busy(ev.currentTarget, signIn));
  const enrollForm = $("enroll-form");
  onSubmit(enrollForm, () => enroll(enrollForm));
  $("enroll-signin").addEventListener("click", () => leaveEnroll());
  $("enroll-join-button").addEventListener("click", (ev) => busy(ev.currentTarget, joinTenant));
  $("enroll-join-signout").addEventListener(
    "click",
    (ev) => busy(ev.currentTarget, async () => {
      await signOut();
      if (sessionStorage.getItem(INVITE_KEY)) showEnroll();
    })
  );
  const addForm = $("add-device-form");
  onSubmit(addForm, () => addDevice(addForm));
  $("signout-button").addEventListener("click", (ev) => busy(ev.currentTarget, signOut));
  $("refresh-button").addEventListener("click", (ev) => busy(ev.currentTarget, showConsole));
  const sel = $("tenant-select");
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
