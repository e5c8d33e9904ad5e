// Builds dist/, the API reference the Go package web embeds at /docs, from
// the pinned npm packages (package-lock.json) and src/. Deterministic: the
// same inputs give byte-identical files, so CI can rebuild and compare
// (make check-apidocs). Run: npm ci && node build.mjs
//
// - swagger-ui-dist's browser bundle and stylesheet, DOMPurify's browser
//   build, and src/ are copied;
// - the stylesheet's data: images become files under dist/img/ (the page's
//   policy is img-src 'self', with no data: URIs);
// - sourceMappingURL comments are dropped (no .map files are shipped);
// - the packages' licences go to dist/licenses/.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const mod = (...p) => join(here, "node_modules", ...p);

const dropSourceMap = (text) => text.replace(/\n?\/[/*]# sourceMappingURL=[^\n]*\s*$/, "\n");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "img"), { recursive: true });
mkdirSync(join(dist, "licenses"), { recursive: true });

const write = (name, data) => writeFileSync(join(dist, name), data);

// Scripts.
write("swagger-ui-bundle.js", dropSourceMap(readFileSync(mod("swagger-ui-dist", "swagger-ui-bundle.js"), "utf8")));
write("purify.min.js", dropSourceMap(readFileSync(mod("dompurify", "dist", "purify.min.js"), "utf8")));

// The stylesheet, its inline images moved out to files.
const extOf = { "image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif" };
function decodeDataURI(uri) {
  const comma = uri.indexOf(",");
  const meta = uri.slice("data:".length, comma).split(";");
  const body = uri.slice(comma + 1);
  const type = meta[0];
  if (!extOf[type]) throw new Error(`build: unexpected data: type ${type}`);
  const bytes = meta.includes("base64")
    ? Buffer.from(body, "base64")
    : Buffer.from(body.replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), "utf8");
  return { bytes, ext: extOf[type] };
}
function moveOut(uri) {
  const { bytes, ext } = decodeDataURI(uri);
  const name = `img/${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${ext}`;
  writeFileSync(join(dist, name), bytes);
  return `url(${name})`;
}
let css = dropSourceMap(readFileSync(mod("swagger-ui-dist", "swagger-ui.css"), "utf8"));
let moved = 0;
// url("data:...") with CSS-escaped quotes inside, and url(data:...) bare.
css = css.replace(/url\("(data:(?:[^"\\]|\\.)*)"\)/g, (_, uri) => (moved++, moveOut(uri.replace(/\\(.)/g, "$1"))));
css = css.replace(/url\('(data:(?:[^'\\]|\\.)*)'\)/g, (_, uri) => (moved++, moveOut(uri.replace(/\\(.)/g, "$1"))));
css = css.replace(/url\((data:[^)"']*)\)/g, (_, uri) => (moved++, moveOut(uri)));
if (css.includes("data:")) throw new Error("build: a data: URI is left in swagger-ui.css");
if (/url\(\s*["']?(https?:)?\/\//.test(css)) throw new Error("build: swagger-ui.css loads something from another origin");
write("swagger-ui.css", css);

// Atrium's page, policy and start-up.
for (const f of readdirSync(join(here, "src")).sort()) {
  write(f, readFileSync(join(here, "src", f)));
}

// Licences.
write("licenses/swagger-ui-dist.LICENSE.txt", readFileSync(mod("swagger-ui-dist", "LICENSE")));
write("licenses/swagger-ui-dist.NOTICE.txt", readFileSync(mod("swagger-ui-dist", "NOTICE")));
write("licenses/swagger-ui-bundle.js.LICENSE.txt", readFileSync(mod("swagger-ui-dist", "swagger-ui-bundle.js.LICENSE.txt")));
write("licenses/dompurify.LICENSE.txt", readFileSync(mod("dompurify", "LICENSE")));

const versions = Object.fromEntries(["swagger-ui-dist", "dompurify"].map((p) =>
  [p, JSON.parse(readFileSync(mod(p, "package.json"), "utf8")).version]));
console.log(`apidocs: built dist/ from ${JSON.stringify(versions)}; ${moved} inline images moved to dist/img/`);
