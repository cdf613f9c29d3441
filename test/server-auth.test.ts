/**
 * Issue 14, security: the API token (made at the first start, kept owner-only, printed once,
 * required on every route but /health, an unsafe token file refused), --no-auth only on loopback,
 * rate limits with Retry-After, upload ids that cannot leave the uploads folder, and outputs
 * served as attachments with fixed content types whatever the queue's record says.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SqliteQueue } from "../src/queue/sqlite-queue.ts";
import { isLoopback, RateLimiter } from "../src/server/auth.ts";
import { encodePng } from "../src/server/png.ts";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { bearer, spawnServer } from "./server-process.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON, checked field by field below
type Json = any;

let dir = "";
let n = 0;
const servers: RunningServer[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-server-auth-"));
});
after(async () => {
  for (const s of servers) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(opts: Partial<Parameters<typeof startServer>[0]> = {}) {
  const s = await startServer({
    dataDir: join(dir, `data${n++}`),
    port: 0,
    host: "127.0.0.1",
    concurrency: 0,
    ...opts,
  });
  servers.push(s);
  return s;
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("the API token", () => {
  it("is made at the first start, stored owner-only, printed once; a restart reuses it", async () => {
    const data = join(dir, "cli-data");
    const first = await spawnServer(["--data-dir", data]);
    const path = join(data, "token");
    try {
      assert.ok(first.token, first.stdout());
      assert.match(first.token, /^[A-Za-z0-9_-]{43}$/, "32 random bytes in base64url");
      assert.ok(
        first.stdout().includes(`API token (shown once, stored in ${path}): ${first.token}\n`),
        first.stdout(),
      );
      assert.equal(await modeOf(path), 0o600);
      assert.equal((await readFile(path, "utf8")).trim(), first.token);
      const ok = await fetch(`${first.url}/jobs`, { headers: bearer(first.token) });
      assert.equal(ok.status, 200);
      const none = await fetch(`${first.url}/jobs`);
      assert.equal(none.status, 401);
    } finally {
      first.child.kill("SIGTERM");
      await first.exited;
    }

    const second = await spawnServer(["--data-dir", data]);
    try {
      assert.ok(!second.stdout().includes(first.token), "not printed again");
      assert.match(second.stdout(), new RegExp(`API token in ${path.replace(/\W/g, "\\$&")} `));
      assert.equal(second.token, first.token, "the same token, from the file");
      assert.equal(await modeOf(path), 0o600);
      const ok = await fetch(`${second.url}/jobs`, { headers: bearer(first.token) });
      assert.equal(ok.status, 200);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });

  it("answers 401 with a JSON error without the right token, and leaves /health open", async () => {
    const s = await start();
    const token = s.auth!.token;
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no Authorization header/],
      [{ authorization: `Bearer ${token}x` }, /token is wrong/],
      [{ authorization: `Bearer ${token.slice(0, -1)}` }, /token is wrong/],
      [{ authorization: "Bearer " }, /not `Bearer <token>`/],
      [{ authorization: `Basic ${token}` }, /not `Bearer <token>`/],
    ];
    for (const path of ["/jobs", "/kinds", "/openapi.json", "/uploads/x", "/nowhere"]) {
      for (const [headers, message] of cases) {
        const res = await fetch(s.url + path, { headers });
        assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
        assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="zoetrope"');
        const body = (await res.json()) as Json;
        assert.equal(body.error.status, 401);
        assert.match(body.error.message, message);
      }
    }
    const submit = await fetch(`${s.url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "world-render", settings: { prompt: "a red ball" } }),
    });
    assert.equal(submit.status, 401);
    const list = await fetch(`${s.url}/jobs`, { headers: bearer(token) });
    assert.deepEqual(await list.json(), { jobs: [] }, "nothing was queued");
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    for (const scheme of ["Bearer", "bearer"]) {
      const ok = await fetch(`${s.url}/kinds`, {
        headers: { authorization: `${scheme} ${token}` },
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("x-content-type-options"), "nosniff");
    }
  });

  it("refuses a token file that others can read, or that is not a regular file", async () => {
    const cases: [string, (path: string) => Promise<void>, RegExp][] = [
      [
        "group-readable",
        async (p) => {
          await writeFile(p, `${"a".repeat(43)}\n`, { mode: 0o600 });
          await chmod(p, 0o640);
        },
        /can be read by others \(mode 640\).*chmod 600/,
      ],
      [
        "world-readable",
        async (p) => {
          await writeFile(p, `${"a".repeat(43)}\n`);
          await chmod(p, 0o604);
        },
        /can be read by others \(mode 604\)/,
      ],
      ["a folder", (p) => mkdir(p), /not a regular file/],
      [
        "a symbolic link",
        async (p) => {
          const target = `${p}-target`;
          await writeFile(target, `${"a".repeat(43)}\n`, { mode: 0o600 });
          await symlink(target, p);
        },
        /symbolic link/,
      ],
      ["too short", (p) => writeFile(p, "secret\n", { mode: 0o600 }), /does not hold a token/],
    ];
    for (const [name, make, message] of cases) {
      const data = join(dir, `unsafe-${name.replace(/\W/g, "-")}`);
      await mkdir(data, { recursive: true });
      await make(join(data, "token"));
      const before = await stat(join(data, "token")).catch(() => null);
      await assert.rejects(start({ dataDir: data }), message, name);
      const afterwards = await stat(join(data, "token")).catch(() => null);
      assert.equal(afterwards?.mtimeMs, before?.mtimeMs, `${name}: left as it was`);
    }
    // The same file, made owner-only, is used as it is.
    const data = join(dir, "unsafe-group-readable");
    await chmod(join(data, "token"), 0o600);
    const s = await start({ dataDir: data });
    assert.equal(s.auth?.token, "a".repeat(43));
    assert.equal(s.auth?.created, false);
  });

  it("refuses --no-auth on a non-loopback host, and allows it on loopback", async () => {
    await assert.rejects(
      spawnServer(["--data-dir", join(dir, "no-auth-remote"), "--no-auth", "--host", "0.0.0.0"]),
      /--no-auth is only allowed on a loopback address.*not --host 0\.0\.0\.0/,
    );
    await assert.rejects(
      start({ host: "0.0.0.0", noAuth: true }),
      /--no-auth is only allowed on a loopback address/,
    );
    const local = await start({ noAuth: true, dataDir: join(dir, "no-auth-local") });
    assert.equal(local.auth, null);
    assert.equal((await fetch(`${local.url}/jobs`)).status, 200);
    await assert.rejects(stat(join(dir, "no-auth-local", "token")), { code: "ENOENT" });
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "localhost",
      "::ffff:127.0.0.1",
    ]) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "example"]) {
      assert.equal(isLoopback(host), false, host);
    }
  });

  it("serves a non-loopback host with the token required (no --allow-remote any more)", async () => {
    const s = await spawnServer(["--data-dir", join(dir, "remote"), "--host", "0.0.0.0"]);
    try {
      assert.match(s.url, /^http:\/\/0\.0\.0\.0:\d+$/);
      const url = s.url.replace("0.0.0.0", "127.0.0.1");
      assert.equal((await fetch(`${url}/jobs`)).status, 401);
      assert.equal((await fetch(`${url}/jobs`, { headers: bearer(s.token) })).status, 200);
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  });
});

describe("rate limits", () => {
  it("answer 429 with Retry-After once the burst is spent, and refill at the rate", async () => {
    const s = await start({ rateLimit: { perSecond: 2, burst: 5 } });
    const auth = bearer(s.auth!.token);
    for (let i = 0; i < 5; i++) {
      assert.equal((await fetch(`${s.url}/jobs`, { headers: auth })).status, 200, `request ${i}`);
    }
    const limited = await fetch(`${s.url}/jobs`, { headers: auth });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "1");
    const body = (await limited.json()) as Json;
    assert.equal(body.error.status, 429);
    assert.match(body.error.message, /too many requests \(limit 2\/s, burst 5\)/);
    // /health is not limited; a client with a wrong token has its own bucket (its address).
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    assert.equal((await fetch(`${s.url}/jobs`, { headers: bearer("x".repeat(43)) })).status, 401);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await fetch(`${s.url}/jobs`, { headers: auth })).status, 200, "refilled");
    assert.equal((await fetch(`${s.url}/jobs`, { headers: auth })).status, 429);
  });

  it("limits clients by address without auth, and wrong tokens by address too", async () => {
    const open = await start({ noAuth: true, rateLimit: { perSecond: 1, burst: 3 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${open.url}/jobs`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);

    const s = await start({ rateLimit: { perSecond: 1, burst: 3 } });
    const wrong = [];
    for (let i = 0; i < 4; i++) {
      wrong.push((await fetch(`${s.url}/jobs`, { headers: bearer("y".repeat(43)) })).status);
    }
    assert.deepEqual(wrong, [401, 401, 401, 429], "guessing tokens is limited");
    const right = await fetch(`${s.url}/jobs`, { headers: bearer(s.auth!.token) });
    assert.equal(right.status, 200, "the token's own bucket is untouched");
  });

  it("buckets: a burst, then the rate; Retry-After counts to the next request", () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 4, burst: 2 }, () => now);
    assert.deepEqual([limiter.take("a"), limiter.take("a")], [0, 0]);
    assert.equal(limiter.take("a"), 0.25);
    assert.equal(limiter.take("b"), 0, "keys are separate");
    now = 250;
    assert.equal(limiter.take("a"), 0);
    now = 10_000;
    assert.deepEqual([limiter.take("a"), limiter.take("a"), limiter.take("a")], [0, 0, 0.25]);
    assert.equal(new RateLimiter({ perSecond: 0, burst: 1 }).take("a"), 0, "0: no limit");
  });
});

describe("files", () => {
  it("upload ids cannot reach outside the uploads folder", async () => {
    const s = await start({ rateLimit: { perSecond: 1000, burst: 1000 } });
    const auth = bearer(s.auth!.token);
    const png = encodePng(new Uint8Array(2 * 2 * 3), 2, 2);
    const up = await fetch(`${s.url}/uploads`, {
      method: "POST",
      headers: { ...auth, "content-type": "image/png" },
      body: new Blob([new Uint8Array(png)]),
    });
    assert.equal(up.status, 201);
    const { id } = (await up.json()) as Json;
    assert.equal((await fetch(`${s.url}/uploads/${id}`, { headers: auth })).status, 200);
    for (const bad of [
      "..%2Ftoken",
      "..%2F..%2Ftoken",
      "%2e%2e%2fqueue.sqlite",
      "%2E%2E",
      "..%5Ctoken",
      `${id}%2F..%2F..%2Ftoken`,
      `${id}.png`,
      `${id.slice(0, -1)}%00`,
      `%2Fetc%2Fpasswd`,
      `..%252F..%252Ftoken`,
    ]) {
      const res = await fetch(`${s.url}/uploads/${bad}`, { headers: auth });
      const text = await res.text();
      assert.ok(!text.includes(s.auth!.token), `${bad}: the token leaked`);
      if (bad === "%2E%2E") {
        // A bare %2E%2E segment is a ".." to the URL parser, so it asks for GET /: the studio's
        // page, which holds no secret.
        assert.equal(res.status, 200, bad);
        assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
        assert.match(text, /<title>[^<]*Zoetrope/i);
        continue;
      }
      assert.equal(res.status, 404, bad);
      assert.match(JSON.parse(text).error.message, /^no upload /, bad);
    }
  });

  it("serves outputs as attachments with fixed types, whatever the queue's record says", async () => {
    const s = await start();
    const auth = bearer(s.auth!.token);
    const data = join(dir, `data${n - 1}`);
    // A second handle on the server's queue plays a worker whose records cannot be trusted.
    const queue = new SqliteQueue(join(data, "queue.sqlite"));
    try {
      const forge = async (file: (id: string) => string, contentType: string) => {
        const job = await queue.submit("world-render", { prompt: "a red ball" });
        const claim = (await queue.claim("forger", 60_000))!;
        assert.equal(claim.job.id, job.id);
        const output = { file: file(job.id), contentType, bytes: 5, metadata: {} };
        assert.equal(await queue.complete(claim, output), true);
        return job.id;
      };
      await mkdir(join(data, "outputs"), { recursive: true });

      const html = await forge((id) => `${id}.1.html`, "text/html");
      await writeFile(join(data, "outputs", `${html}.1.html`), "<script>alert(1)</script>");
      const res = await fetch(`${s.url}/jobs/${html}/output`, { headers: auth });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(
        res.headers.get("content-disposition"),
        `attachment; filename="world-render-${html}.html"`,
      );
      assert.equal(await res.text(), "<script>alert(1)</script>");

      for (const file of [() => "../token", (id: string) => `${id}.1.mp4/../../../token`]) {
        const id = await forge(file, "text/plain");
        const r = await fetch(`${s.url}/jobs/${id}/output`, { headers: auth });
        assert.equal(r.status, 500, file(id));
        const text = await r.text();
        assert.ok(!text.includes(s.auth!.token), "the token leaked");
        assert.match(JSON.parse(text).error.message, /malformed file name/);
      }
    } finally {
      await queue.close();
    }
  });
});
