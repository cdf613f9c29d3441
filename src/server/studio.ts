/**
 * The browser studio: GET / (web/index.html) and its assets under /studio/. They are served
 * without the token, since they hold no secret: the page asks the user for the token and sends it
 * on each API call itself. web/studio.ts is bundled for the browser with esbuild on the first
 * request and kept in memory. Every studio response carries a strict Content-Security-Policy
 * (scripts and styles from this server only, no inline script), so a job's prompt or error shown
 * in the page can never run as code.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

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

/** web/studio.ts and what it imports, as one ES module for the browser. */
async function bundle(): Promise<Asset> {
  // Loaded on use, so that a server whose studio is never opened does not load esbuild.
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [`${WEB_DIR}studio.ts`],
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

const ASSETS: Record<string, () => Promise<Asset>> = {
  "/": file("index.html", "text/html; charset=utf-8"),
  "/studio/studio.css": file("studio.css", "text/css; charset=utf-8"),
  "/studio/studio.js": once(bundle),
};

/** The studio's routes; mount them before the token check (they need none). */
export function studioRoutes(): Hono {
  const app = new Hono();
  for (const [path, load] of Object.entries(ASSETS)) {
    app.get(path, async (c) => {
      const asset = await load();
      return c.body(asset.body, 200, {
        "Content-Type": asset.type,
        "Content-Security-Policy": STUDIO_CSP,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        // Reloaded after an upgrade of the server, never taken stale from a cache.
        "Cache-Control": "no-cache",
      });
    });
  }
  return app;
}
