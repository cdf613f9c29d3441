/**
 * The API's token and rate limits. A server requires `Authorization: Bearer <token>` on every
 * route but /health. The token is made at the first start (32 random bytes, base64url) and kept
 * in `<data-dir>/token`, readable by its owner only; a token file that others can read is
 * refused rather than used, since anyone who read it could use the API. Requests are limited per
 * token (per client address without auth, and for requests whose token is wrong) by a token
 * bucket held in memory.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, rm } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { errorResponse } from "./errors.ts";

export const TOKEN_FILE = "token";
/** RFC 6750's b64token, at least 32 characters, so a hand-written token is not a guessable one. */
const TOKEN_SHAPE = /^[A-Za-z0-9._~+/-]{32,}=*$/;

export class AuthSetupError extends Error {}

export interface ApiToken {
  token: string;
  path: string;
  /** True when this start made the token (it is shown once, then only its file is named). */
  created: boolean;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/** Throws unless serving without a token is safe: only on a loopback address. */
export function checkNoAuthHost(host: string): void {
  if (!isLoopback(host)) {
    throw new AuthSetupError(
      `--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost), not --host ${host}: anyone who can reach ${host} could use the API. Drop --no-auth and send the token instead`,
    );
  }
}

/**
 * The token of `dataDir`: read from its token file, or made and stored there if there is none.
 * The file is written under a temporary name and then hard-linked into place, which fails if a
 * token file appeared meanwhile, so a token is never overwritten nor seen half-written.
 */
export async function loadOrCreateToken(dataDir: string): Promise<ApiToken> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, TOKEN_FILE);
  const existing = await readToken(path);
  if (existing !== null) return { token: existing, path, created: false };
  const token = randomBytes(32).toString("base64url");
  const tmp = join(dataDir, `.${TOKEN_FILE}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(`${token}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // Another process made one first: use its token, so both accept the same one.
    const theirs = await readToken(path);
    if (theirs === null) throw err;
    return { token: theirs, path, created: false };
  } finally {
    await rm(tmp, { force: true });
  }
  return { token, path, created: true };
}

/** The token stored at `path`, null if there is no file; throws if the file is unsafe. */
async function readToken(path: string): Promise<string | null> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    // O_NOFOLLOW: a symbolic link put in its place is refused, not followed.
    fh = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") {
      throw new AuthSetupError(`${path} is a symbolic link, not the token file; remove it`);
    }
    throw err;
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) {
      throw new AuthSetupError(`${path} is not a regular file; remove it to make a new token`);
    }
    if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(3, "0");
      throw new AuthSetupError(
        `${path} can be read by others (mode ${mode}); refusing to use a token that may have leaked. Run \`chmod 600 ${path}\` if only you could have read it, or delete it to make a new token`,
      );
    }
    const token = (await fh.readFile("utf8")).trim();
    if (!TOKEN_SHAPE.test(token)) {
      throw new AuthSetupError(
        `${path} does not hold a token (32 or more characters of A-Z a-z 0-9 . _ ~ + / -); delete it to make a new one`,
      );
    }
    return token;
  } finally {
    await fh.close();
  }
}

export interface RateLimit {
  /** Requests per second, refilled continuously; 0 turns limits off. */
  perSecond: number;
  /** Requests allowed at once before the rate applies. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 40 };

/** Token buckets by key: each holds up to `burst` requests and refills at `perSecond`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one request for `key`: 0 if allowed, else the seconds until one would be. */
  take(key: string): number {
    const { perSecond, burst } = this.limit;
    if (perSecond <= 0) return 0;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    if (this.buckets.size > 10_000) this.sweep(now);
    return (1 - b.tokens) / perSecond;
  }

  /** Forgets full buckets (clients gone quiet), so many addresses cannot fill memory. */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.limit.perSecond >= this.limit.burst) {
        this.buckets.delete(key);
      }
    }
  }
}

/** Paths served without a token or limit (a load balancer's probe). */
const OPEN_PATHS = new Set(["/health"]);

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Checks the bearer token (if `token` is set) and the rate limit of each request. Compared as
 * SHA-256 digests with timingSafeEqual, so the time taken says nothing about the token, not
 * even its length.
 */
export function authAndLimits(token: string | null, limiter: RateLimiter): MiddlewareHandler {
  const expected = token === null ? null : digest(token);
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    let problem: string | null = null;
    if (expected) {
      const header = c.req.header("authorization");
      const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      if (header === undefined)
        problem = "no Authorization header; send `Authorization: Bearer <token>`";
      else if (!m) problem = "the Authorization header is not `Bearer <token>`";
      else if (!timingSafeEqual(digest(m[1]), expected)) problem = "the token is wrong";
    }
    // One bucket for the token; clients without a valid one are limited by their address.
    const key = expected && !problem ? "token" : `address:${clientAddress(c)}`;
    const wait = limiter.take(key);
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait));
      c.header("Retry-After", String(seconds));
      return errorResponse(
        c,
        429,
        `too many requests (limit ${limiter.limit.perSecond}/s, burst ${limiter.limit.burst}); retry in ${seconds} s`,
      );
    }
    if (problem) {
      c.header("WWW-Authenticate", 'Bearer realm="zoetrope"');
      return errorResponse(c, 401, problem);
    }
    return next();
  };
}

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // not served by the Node adapter (app.request in a test)
  }
}
