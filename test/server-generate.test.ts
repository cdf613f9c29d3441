/**
 * The model's job kinds over the HTTP API: `generate` (prompt → tagged MP4) and `image` (prompt →
 * PNG) on the tiny model fixture (random weights: this checks the plumbing, not the pictures) —
 * sizes, determinism, progress per denoising step, sizes the model cannot make, cancel, and a
 * server whose model folder is missing.
 */
import assert from "node:assert/strict";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readMp4Metadata } from "../src/media/mp4-metadata.ts";
import { readVideo } from "../src/media/read-video.ts";
import { DEFAULT_GUIDANCE } from "../src/models/sampling-defaults.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { generateKind } from "../src/server/kinds/generate.ts";
import type { ProgressReport } from "../src/server/kinds.ts";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { readEvents } from "./server-sse.ts";
import { startTinyServer } from "./tiny-server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON, checked field by field below
type Json = any;

let dir = "";
let model = "";
let server: RunningServer;
const small = { width: 32, height: 16, seconds: 0.5, fps: 8, steps: 2 };
const prompt = "a red ball bounces on the grass";

before(async () => {
  ({ dir, model, server } = await startTinyServer("server-generate"));
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A request to `s` with its token. */
function api(s: RunningServer, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { authorization: `Bearer ${s.auth!.token}`, ...init.headers };
  return fetch(s.url + path, { ...init, headers });
}

async function submit(s: RunningServer, kind: string, settings: object): Promise<JobRecord> {
  const res = await api(s, "/jobs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, settings }),
  });
  const json = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(json));
  return json as JobRecord;
}

async function waitFor(
  s: RunningServer,
  id: string,
  done: (j: JobRecord) => boolean,
): Promise<JobRecord> {
  for (let i = 0; i < 6000; i++) {
    const j = (await (await api(s, `/jobs/${id}`)).json()) as JobRecord;
    if (done(j)) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} never reached the state waited for`);
}

const finished = (j: JobRecord) => j.status !== "queued" && j.status !== "running";

/** Waits for the job to succeed and saves its output under `name`. */
async function download(id: string, name: string) {
  const job = await waitFor(server, id, finished);
  assert.equal(job.status, "succeeded", job.error ?? "");
  const res = await api(server, `/jobs/${id}/output`);
  assert.equal(res.status, 200);
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return { file, job, contentType: res.headers.get("content-type") };
}

function pngSize(png: Buffer): [number, number] {
  assert.equal(png.subarray(1, 4).toString(), "PNG");
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

describe("generate and image jobs", () => {
  it("are listed with their settings' limits", async () => {
    const kinds = (await (await api(server, `/kinds`)).json()) as Json;
    const names = kinds.kinds.map((k: { name: string }) => k.name);
    assert.ok(names.includes("generate") && names.includes("image"), names.join(", "));
    const doc = (await (await api(server, `/openapi.json`)).json()) as Json;
    const settings = doc.components.schemas["Settings.generate"];
    assert.equal(settings.properties.width.minimum, 16);
    assert.equal(settings.properties.width.maximum, 512);
    assert.equal(settings.properties.steps.maximum, 200);
    assert.equal(settings.properties.seconds.maximum, 16);
  });

  it("refuses settings outside the schema's limits at submission, naming the field", async () => {
    for (const [settings, field] of [
      [{ prompt, width: 8 }, "settings.width"],
      [{ prompt, height: 1024 }, "settings.height"],
      [{ prompt, seconds: 17 }, "settings.seconds"],
      [{ prompt, steps: 0 }, "settings.steps"],
      [{ prompt, steps: 201 }, "settings.steps"],
      [{ prompt, method: "ddim" }, "settings.method"],
      [{ prompt: "  " }, "settings.prompt"],
    ] as const) {
      const res = await api(server, `/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "generate", settings }),
      });
      assert.equal(res.status, 400, JSON.stringify(settings));
      assert.equal(((await res.json()) as Json).error.field, field);
    }
  });

  it("makes a tagged MP4 of the asked size, with progress per step and a final preview", async () => {
    const job = await submit(server, "generate", { prompt, seed: 7, ...small });
    assert.equal(job.settings.guidance, DEFAULT_GUIDANCE, "defaults are filled in");
    assert.equal(job.settings.method, "euler");
    // The first job loads the model first, so the stream opens before any step.
    const events = await readEvents(`${server.url}/jobs/${job.id}/events`, undefined, {
      authorization: `Bearer ${server.auth!.token}`,
    });
    const progress = events.filter((e) => e.event === "progress").map((e) => e.data as Json);
    assert.ok(progress.length >= 1);
    for (const p of progress) assert.equal(p.total, 2);
    const steps = progress.map((p) => p.step);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
      "steps only go forward",
    );
    const last = progress.at(-1);
    assert.equal(last.step, 2);
    assert.ok(last.preview, "the last report has a preview");
    assert.deepEqual(pngSize(Buffer.from(last.preview.split(",")[1], "base64")), [32, 16]);
    assert.equal(events.at(-1)?.event, "end");

    const { file, job: done, contentType } = await download(job.id, "a.mp4");
    assert.deepEqual(done.progress, { step: 2, total: 2 });
    assert.equal(contentType, "video/mp4");
    const video = await readVideo(file);
    assert.deepEqual([video.width, video.height, video.frames.length], [32, 16, 5]);
    const meta = await readMp4Metadata(file);
    assert.equal(meta.prompt, prompt);
    assert.equal(meta.seed, "7");
    assert.equal(meta.model, "tiny");
    assert.match(meta.model_sha256, /^[0-9a-f]{64}$/);
    assert.match(meta.zoetrope_version, /^\d+\.\d+\.\d+/);
    assert.match(meta.caption, /red|scarlet|crimson/i);
    assert.deepEqual(JSON.parse(meta.settings), {
      width: 32,
      height: 16,
      frames: 5,
      fps: 8,
      steps: 2,
      guidance: DEFAULT_GUIDANCE,
      seed: 7,
      method: "euler",
    });
    const stored = done.output?.metadata as Json;
    assert.equal(stored.caption, meta.caption);
    assert.equal(stored.modelSha256, meta.model_sha256);
    assert.equal(stored.frames, 5);

    // The same settings make the same frames; another seed does not.
    const again = await submit(server, "generate", { prompt, seed: 7, ...small });
    const other = await submit(server, "generate", { prompt, seed: 8, ...small });
    const b = await readVideo((await download(again.id, "b.mp4")).file);
    const c = await readVideo((await download(other.id, "c.mp4")).file);
    const same = (x: typeof video, y: typeof video) =>
      x.frames.every((f, i) => Buffer.from(f).equals(Buffer.from(y.frames[i])));
    assert.equal(same(video, b), true, "same seed and settings, same frames");
    assert.equal(same(video, c), false, "another seed, other frames");
  });

  /** Runs the generate kind directly on the model (not through the server), recording its reports. */
  async function runDirect(name: string, settings: Json) {
    const kind = generateKind({ model });
    const reports: ProgressReport[] = [];
    const outputPath = join(dir, name);
    await kind.run({
      settings: kind.settings.parse({ prompt, ...small, ...settings }),
      outputPath,
      inputPath: () => Promise.reject(new Error("no uploads")),
      progress: (r) => reports.push(r),
      signal: new AbortController().signal,
    });
    return { reports, outputPath };
  }

  it("reports every denoising step once, in order, with previews", async () => {
    // The event stream coalesces progress for slow clients, so the runner's own reports are
    // recorded here, from the same kind the server registers, run on the real model.
    const { reports, outputPath } = await runDirect("direct.mp4", { steps: 4 });
    assert.deepEqual(
      reports.map((r) => [r.step, r.total]),
      [1, 2, 3, 4].map((s) => [s, 4]),
    );
    // A preview every ceil(4 / 8) = 1 step: the prediction's (the 4×2 latent upscaled ×16),
    // the last the result's thumbnail. test/server-previews.test.ts spaces them out.
    assert.deepEqual(
      reports.map((r) => r.preview && pngSize(Buffer.from(r.preview))),
      [
        [64, 32],
        [64, 32],
        [64, 32],
        [32, 16],
      ],
    );
    assert.equal((await readVideo(outputPath)).frames.length, 5);
  });

  it("image first: the steps of both stages counted once, in order, and the clip tagged", async () => {
    const { reports, outputPath } = await runDirect("image-first.mp4", {
      steps: 2,
      imageFirst: true,
    });
    assert.deepEqual(
      reports.map((r) => [r.step, r.total]),
      [1, 2, 3, 4].map((s) => [s, 4]),
    );
    assert.equal(JSON.parse((await readMp4Metadata(outputPath)).settings).imageFirst, true);
    assert.equal((await readVideo(outputPath)).frames.length, 5);
    assert.equal(generateKind().settings.parse({ prompt }).imageFirst, false, "off by default");
  });

  it("makes a PNG image of the asked size", async () => {
    const job = await submit(server, "image", { prompt, width: 48, height: 32, steps: 2 });
    const { file, job: done, contentType } = await download(job.id, "image.png");
    assert.equal(contentType, "image/png");
    assert.deepEqual(pngSize(await readFile(file)), [48, 32]);
    assert.equal((done.output?.metadata as Json)?.width, 48);
  });

  it("fails a size the model cannot make, saying what it can make", async () => {
    const job = await submit(server, "generate", { prompt, ...small, width: 30 });
    const done = await waitFor(server, job.id, finished);
    assert.equal(done.status, "failed");
    assert.match(done.error ?? "", /cannot make width 30/);
    assert.match(done.error ?? "", /multiples of 16/);
    assert.match(done.error ?? "", /1 \+ \d·k frames/);
    const res = await api(server, `/jobs/${job.id}/output`);
    assert.equal(res.status, 409);
  });

  it("cancels a running job at the next step, leaving no output", async () => {
    // Large enough (tenths of a second a step here, most of a minute in all) that it cannot
    // finish before the cancel arrives.
    const job = await submit(server, "generate", {
      prompt,
      width: 256,
      height: 256,
      seconds: 2,
      steps: 200,
    });
    await waitFor(server, job.id, (j) => (j.progress?.step ?? 0) >= 1 || finished(j));
    const res = await api(server, `/jobs/${job.id}/cancel`, { method: "POST" });
    assert.equal(res.status, 200);
    const done = await waitFor(server, job.id, finished);
    assert.equal(done.status, "canceled");
    assert.ok((done.progress?.step ?? 0) < 200, "it stopped before the end");
    const out = await api(server, `/jobs/${job.id}/output`);
    assert.equal(out.status, 409);
    const files = await readdir(join(dir, "data", "outputs"));
    assert.ok(!files.some((f) => f.includes(job.id)), `left behind: ${files.join(", ")}`);
  });
});

describe("a server whose model folder is missing", () => {
  it("still runs world-render, and fails generate and image jobs with the reason", async () => {
    const missing = join(dir, "no-model");
    const other = await startServer({
      dataDir: join(dir, "data-missing"),
      port: 0,
      host: "127.0.0.1",
      model: missing,
      rateLimit: { perSecond: 100_000, burst: 100_000 },
    });
    try {
      const gen = await submit(other, "generate", { prompt, ...small });
      const img = await submit(other, "image", { prompt, steps: 2 });
      const world = await submit(other, "world-render", {
        prompt,
        width: 32,
        height: 32,
        seconds: 0.5,
        fps: 8,
      });
      for (const job of [gen, img]) {
        const done = await waitFor(other, job.id, finished);
        assert.equal(done.status, "failed");
        assert.match(done.error ?? "", /no such folder/);
        assert.ok(done.error?.includes(missing), done.error ?? "");
      }
      const w = await waitFor(other, world.id, finished);
      assert.equal(w.status, "succeeded", w.error ?? "");
    } finally {
      await other.close();
    }
  });
});
