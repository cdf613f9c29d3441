/**
 * The browser studio: GET / (web/index.html) and its assets under /studio/. They are served
 * without the token, since they hold no secret: the page asks the user for the token and sends it
 * on each API call itself. web/studio.ts is bundled for the browser with esbuild on the first
 * request and kept in memory. Every studio response carries a strict Content-Security-Policy
 * (scripts and styles from this server only, no inline script), so a job's prompt or error shown
 * in the page can never run as code.
 *
 * GET /local runs exported ONNX graphs in the browser (web/local.ts): its policy also lets
 * WebAssembly compile ('wasm-unsafe-eval'), and nothing else. onnxruntime-web's scripts and .wasm
 * files are served from its npm package under /studio/ort/ (a fixed list), so the page loads
 * nothing from anywhere else.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { type Context, Hono } from "hono";

const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

/**
 * Previews arrive as data: URLs in the event stream and outputs are shown from object URLs
 * (blob:), fetched with the token; nothing else is loaded from anywhere but this server.
 */
export const STUDIO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The studio's policy, plus compiling WebAssembly: for the pages that run onnxruntime-web. */
export const LOCAL_RUN_CSP = STUDIO_CSP.replace(
  "script-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
);

interface Asset {
  body: string;
  type: string;
}

/** Loads each asset once (a failed load is retried on the next request, not cached). */
function once(load: () => Promise<Asset>): () => Promise<Asset> {
  let cached: Promise<Asset> | null = null;
  return () => {
    cached ??= load().catch((err) => {
      cached = null;
      throw err;
    });
    return cached;
  };
}

const file = (name: string, type: string) =>
  once(async () => ({ body: await readFile(WEB_DIR + name, "utf8"), type }));

/** web/<entry> and what it imports, as one ES module for the browser. */
async function bundle(entry: string): Promise<Asset> {
  // Loaded on use, so that a server whose studio is never opened does not load esbuild.
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [WEB_DIR + entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    charset: "utf8",
    legalComments: "none",
    logLevel: "silent",
  });
  return { body: out.outputFiles[0].text, type: "text/javascript; charset=utf-8" };
}

const ASSETS: Record<string, { load: () => Promise<Asset>; csp: string }> = {
  "/": { load: file("index.html", "text/html; charset=utf-8"), csp: STUDIO_CSP },
  "/local": { load: file("local.html", "text/html; charset=utf-8"), csp: LOCAL_RUN_CSP },
  "/studio/studio.css": { load: file("studio.css", "text/css; charset=utf-8"), csp: STUDIO_CSP },
  "/studio/studio.js": { load: once(() => bundle("studio.ts")), csp: STUDIO_CSP },
  "/studio/local.js": { load: once(() => bundle("local.ts")), csp: LOCAL_RUN_CSP },
};

/**
 * onnxruntime-web's files the pages load: the WebAssembly build and the WebGPU one, each with
 * the Emscripten module and .wasm it imports.
 */
const ORT_FILES: Record<string, string> = {
  "ort.wasm.min.mjs": "text/javascript; charset=utf-8",
  "ort-wasm-simd-threaded.mjs": "text/javascript; charset=utf-8",
  "ort-wasm-simd-threaded.wasm": "application/wasm",
  "ort.webgpu.min.mjs": "text/javascript; charset=utf-8",
  "ort-wasm-simd-threaded.asyncify.mjs": "text/javascript; charset=utf-8",
  "ort-wasm-simd-threaded.asyncify.wasm": "application/wasm",
};

/** The folder of onnxruntime-web's built files (found through its package's exports). */
let ortDir: string | null = null;

const HEADERS = {
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  // Reloaded after an upgrade of the server, never taken stale from a cache.
  "Cache-Control": "no-cache",
};

/** One of ORT_FILES, streamed (the .wasm files are tens of MiB), revalidated by its ETag. */
async function ortFile(c: Context, name: keyof typeof ORT_FILES): Promise<Response> {
  ortDir ??= dirname(
    createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"),
  );
  const path = join(ortDir, name);
  const info = await stat(path);
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers = { ...HEADERS, ETag: etag, "Content-Security-Policy": LOCAL_RUN_CSP };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream;
  return c.body(body, 200, {
    ...headers,
    "Content-Type": ORT_FILES[name],
    "Content-Length": String(info.size),
  });
}

/** The studio's routes; mount them before the token check (they need none). */
export function studioRoutes(): Hono {
  const app = new Hono();
  for (const [path, { load, csp }] of Object.entries(ASSETS)) {
    app.get(path, async (c) => {
      const asset = await load();
      return c.body(asset.body, 200, {
        ...HEADERS,
        "Content-Type": asset.type,
        "Content-Security-Policy": csp,
      });
    });
  }
  for (const name of Object.keys(ORT_FILES)) {
    app.get(`/studio/ort/${name}`, (c) => ortFile(c, name));
  }
  return app;
}
