/**
 * Issue 14: the HTTP API in process — validation that names the field, size limits, JSON errors,
 * the OpenAPI description, a real world-render job followed over Server-Sent Events (progress,
 * previews, ETA, end) and downloaded, cancel of queued and running jobs, listing, and uploads.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkMp4 } from "../src/media/mp4-boxes.ts";
import { readVideo } from "../src/media/read-video.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { encodePng } from "../src/server/png.ts";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { readEvents } from "./server-sse.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON, checked field by field below
type Json = any;

let dir = "";
let server: RunningServer;
const tiny = { width: 32, height: 32, seconds: 1, fps: 8 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-server-api-"));
  server = await startServer({
    dataDir: join(dir, "data"),
    port: 0,
    host: "127.0.0.1",
    maxUploadBytes: 4096,
    // The tests poll every 10 ms; server-auth.test.ts checks the limits themselves.
    rateLimit: { perSecond: 100_000, burst: 100_000 },
  });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** A request to the server with its token. */
function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { authorization: `Bearer ${server.auth!.token}`, ...init.headers };
  return fetch(server.url + path, { ...init, headers });
}

async function post(path: string, body: unknown, type = "application/json") {
  const res = await api(path, {
    method: "POST",
    headers: { "content-type": type },
    body:
      typeof body === "string"
        ? body
        : body instanceof Uint8Array
          ? new Blob([new Uint8Array(body)])
          : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

async function submit(settings: Record<string, unknown>): Promise<JobRecord> {
  const r = await post("/jobs", { kind: "world-render", settings });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json as JobRecord;
}

async function waitFor(id: string, done: (j: JobRecord) => boolean): Promise<JobRecord> {
  for (let i = 0; i < 400; i++) {
    const j = (await (await api(`/jobs/${id}`)).json()) as JobRecord;
    if (done(j)) return j;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} never reached the state waited for`);
}

describe("server API", () => {
  it("listens on loopback and describes itself at /openapi.json", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const doc = (await (await api(`/openapi.json`)).json()) as Json;
    assert.equal(doc.openapi, "3.1.0");
    for (const p of ["/jobs", "/jobs/{id}", "/jobs/{id}/events", "/jobs/{id}/output", "/uploads"]) {
      assert.ok(doc.paths[p], `missing ${p}`);
    }
    const settings = doc.components.schemas["Settings.world-render"];
    assert.equal(settings.properties.width.maximum, 1024);
    assert.deepEqual(settings.required, ["prompt"]);
    const kinds = (await (await api(`/kinds`)).json()) as Json;
    assert.deepEqual(
      kinds.kinds.map((k: { name: string }) => k.name),
      ["world-render", "generate", "image", "animate", "extend", "loop", "edit", "connect"],
    );
  });

  it("rejects bad requests with JSON errors that name the field", async () => {
    const cases: [unknown, number, string | null, RegExp][] = [
      [{ kind: "paint", settings: {} }, 400, "kind", /no job kind "paint".*world-render/],
      [{ settings: {} }, 400, "kind", /./],
      [
        { kind: "world-render", settings: { prompt: "red ball", width: 5 } },
        400,
        "settings.width",
        /5|8/,
      ],
      [{ kind: "world-render", settings: {} }, 400, "settings.prompt", /./],
      [
        { kind: "world-render", settings: { prompt: "no balls at night" } },
        400,
        "settings.prompt",
        /not to show/,
      ],
      [
        { kind: "world-render", settings: { prompt: "red ball", colour: 1 } },
        400,
        "settings",
        /colour/,
      ],
      [
        {
          kind: "world-render",
          settings: { prompt: "red ball", width: 1024, height: 1024, seconds: 60 },
        },
        400,
        "settings.seconds",
        /MiB/,
      ],
      [
        { kind: "world-render", settings: { prompt: "red ball" }, extra: true },
        400,
        "(body)",
        /extra/,
      ],
    ];
    for (const [body, status, field, message] of cases) {
      const r = await post("/jobs", body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.json.error.status, status);
      if (field) assert.equal(r.json.error.field, field, JSON.stringify(r.json));
      assert.match(r.json.error.message, message);
    }
    const notJson = await post("/jobs", "{nope");
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.error.message, /not valid JSON/);
    const wrongType = await post("/jobs", "kind=world-render", "application/x-www-form-urlencoded");
    assert.equal(wrongType.status, 415);
    const huge = await post("/jobs", {
      kind: "world-render",
      settings: { prompt: "x".repeat(70_000) },
    });
    assert.equal(huge.status, 413);
    const missing = await api(`/jobs/not-a-uuid`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as Json).error.field, "id");
    const route = await api(`/nowhere`);
    assert.equal(route.status, 404);
    assert.match(((await route.json()) as Json).error.message, /no route GET \/nowhere/);
    const badList = await api(`/jobs?status=done`);
    assert.equal(badList.status, 400);
    assert.equal(((await badList.json()) as Json).error.field, "status");
  });

  it("runs a world-render job with live progress, previews and a downloadable MP4", async () => {
    const job = await submit({ prompt: "a red ball bouncing at night", seed: 3, ...tiny });
    assert.equal(job.settings.lossless, false, "defaults are filled in");
    const events = await readEvents(`${server.url}/jobs/${job.id}/events`, undefined, {
      authorization: `Bearer ${server.auth!.token}`,
    });
    assert.equal(events[0].event, "status");
    const progress = events.filter((e) => e.event === "progress").map((e) => e.data as Json);
    assert.ok(progress.length >= 2, `progress events: ${progress.length}`);
    for (const p of progress) {
      assert.equal(p.total, 8);
      assert.ok(p.step >= 1 && p.step <= 8);
      assert.ok(p.etaSeconds === null || p.etaSeconds >= 0);
    }
    const steps = progress.map((p) => p.step);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
      "steps only go forward",
    );
    const previews = progress.filter((p: Json) => p.preview);
    assert.ok(previews.length >= 1, "at least one preview");
    const png = Buffer.from(previews[0].preview.replace(/^data:image\/png;base64,/, ""), "base64");
    assert.equal(png.subarray(1, 4).toString(), "PNG");
    assert.equal(png.readUInt32BE(16), 32, "preview width");
    const end = events.at(-1)!;
    assert.equal(end.event, "end");
    const endData = end.data as Json;
    assert.equal(endData.status, "succeeded");
    assert.equal(endData.output, `/jobs/${job.id}/output`);
    assert.match(endData.job.output.metadata.caption, /red/);
    assert.equal(endData.job.output.metadata.frames, 8);

    const res = await api(endData.output);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp4");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /^attachment; filename="world-render-[0-9a-f-]{36}\.mp4"$/,
    );
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const file = join(dir, "download.mp4");
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    assert.equal((await checkMp4(file)).complete, true);
    const video = await readVideo(file);
    assert.equal(video.frames.length, 8);
    assert.equal(video.width, 32);

    const list = (await (await api(`/jobs?status=succeeded`)).json()) as Json;
    assert.ok(list.jobs.some((j: JobRecord) => j.id === job.id));
    assert.ok(list.jobs.every((j: JobRecord) => j.status === "succeeded"));
  });

  it("cancels a queued job at once and a running job mid-run, leaving no output", async () => {
    // Long enough to still be running when canceled (256×256, 600 frames ≈ 112 MiB raw).
    const long = await submit({
      prompt: "two blue boxes sliding",
      width: 256,
      height: 256,
      seconds: 25,
    });
    const queued = await submit({ prompt: "a green triangle", ...tiny });
    await waitFor(long.id, (j) => j.status === "running" && (j.progress?.step ?? 0) > 0);
    const c1 = await post(`/jobs/${queued.id}/cancel`, {});
    assert.equal(c1.status, 200);
    assert.equal(c1.json.status, "canceled");
    const c2 = await post(`/jobs/${long.id}/cancel`, {});
    assert.equal(c2.status, 200);
    assert.equal(c2.json.cancelRequested, true);
    const done = await waitFor(long.id, (j) => j.status !== "running");
    assert.equal(done.status, "canceled");
    assert.ok(done.progress!.step < done.progress!.total, "it stopped before the end");
    const again = await post(`/jobs/${long.id}/cancel`, {});
    assert.equal(again.status, 409);
    const out = await api(`/jobs/${long.id}/output`);
    assert.equal(out.status, 409);
    const files = await readdir(join(dir, "data", "outputs"));
    assert.ok(!files.some((f) => f.startsWith(long.id)), `left behind: ${files.join(", ")}`);
  });

  it("stores uploads under names it makes, checking type, bytes and size", async () => {
    const png = encodePng(new Uint8Array(4 * 4 * 3).fill(200), 4, 4);
    const ok = await post("/uploads", new Uint8Array(png), "image/png");
    assert.equal(ok.status, 201);
    assert.equal(ok.json.contentType, "image/png");
    assert.equal(ok.json.bytes, png.length);
    const info = (await (await api(`/uploads/${ok.json.id}`)).json()) as Json;
    assert.equal(info.bytes, png.length);
    const files = await readdir(join(dir, "data", "uploads"));
    assert.deepEqual(files, [`${ok.json.id}.png`]);

    const wrongType = await post("/uploads", new Uint8Array(png), "text/html");
    assert.equal(wrongType.status, 415);
    const lying = await post("/uploads", new Uint8Array(16), "image/png");
    assert.equal(lying.status, 415);
    assert.match(lying.json.error.message, /not image\/png/);
    const big = await post("/uploads", new Uint8Array(5000), "image/png");
    assert.equal(big.status, 413);
    for (const id of ["..%2F..%2Fqueue.sqlite", "../x", "00000000-0000-0000-0000-000000000000"]) {
      const r = await api(`/uploads/${id}`);
      assert.equal(r.status, 404, id);
    }
  });
});
