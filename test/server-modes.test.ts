/**
 * The sampling modes as job kinds over the HTTP API: `animate`, `extend`, `loop`, `edit` and
 * `connect` on the tiny model fixture (random weights: the plumbing, not the pictures), with a
 * PNG and MP4s made here and uploaded — outputs of the right size and length tagged as the CLI
 * tags them, progress over all windows, inputs refused at submission (unknown, path-like, wrong
 * type) or failed with the mode's own message, and cancel.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readMp4Metadata } from "../src/media/mp4-metadata.ts";
import { readVideo } from "../src/media/read-video.ts";
import type { Video } from "../src/media/video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { extendKind } from "../src/server/kinds/modes.ts";
import type { ProgressReport } from "../src/server/kinds.ts";
import { encodePng } from "../src/server/png.ts";
import type { RunningServer } from "../src/server/server.ts";
import { Uploads } from "../src/server/uploads.ts";
import { startTinyServer } from "./tiny-server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON, checked field by field below
type Json = any;

let dir = "";
let model = "";
let server: RunningServer;
const fast = { steps: 2, guidance: 2 };
/** The prompt the uploaded clip is tagged with (extend and loop use it when given none). */
const sourcePrompt = "a red ball bounces on the grass";
/** Upload ids: a 16×32 PNG, 32×16 clips of 5 and 4 frames, a 24×16 clip, broken MP4 bytes. */
const ids = { png: "", five: "", four: "", wrongSize: "", broken: "" };

/** A smooth moving w×h clip of `n` frames (smooth, so that H.264 keeps it well). */
function clip(n: number, w = 32, h = 16, phase = 0): Video {
  const frames = Array.from({ length: n }, (_, f) => {
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        rgb[p] = Math.round(128 + 90 * Math.sin(x / 6 + f / 3 + phase));
        rgb[p + 1] = Math.round(128 + 90 * Math.cos(y / 5 + phase));
        rgb[p + 2] = Math.round(128 + 60 * Math.sin((x + y) / 9 - f / 4));
      }
    return rgb;
  });
  return { width: w, height: h, fps: 8, frames };
}

/** A request to the server with its token. */
function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { authorization: `Bearer ${server.auth!.token}`, ...init.headers };
  return fetch(server.url + path, { ...init, headers });
}

async function upload(bytes: Uint8Array, type: string): Promise<string> {
  const res = await api("/uploads", {
    method: "POST",
    headers: { "content-type": type },
    body: Buffer.from(bytes),
  });
  const json = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(json));
  return json.id;
}

async function uploadClip(name: string, video: Video, prompt?: string): Promise<string> {
  const path = join(dir, name);
  await writeMp4(video, path, { lossless: true, metadata: prompt ? { prompt } : undefined });
  return upload(await readFile(path), "video/mp4");
}

function post(kind: string, settings: object): Promise<Response> {
  return api("/jobs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, settings }),
  });
}

async function submit(kind: string, settings: object): Promise<JobRecord> {
  const res = await post(kind, settings);
  const json = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(json));
  return json as JobRecord;
}

const finished = (j: JobRecord) => j.status !== "queued" && j.status !== "running";

async function waitFor(id: string, done: (j: JobRecord) => boolean): Promise<JobRecord> {
  for (let i = 0; i < 6000; i++) {
    const j = (await (await api(`/jobs/${id}`)).json()) as JobRecord;
    if (done(j)) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} never reached the state waited for`);
}

/** Waits for the job to succeed; its output, read back, and its tags. */
async function output(job: JobRecord) {
  const done = await waitFor(job.id, finished);
  assert.equal(done.status, "succeeded", `${job.kind}: ${done.error ?? ""}`);
  const res = await api(`/jobs/${job.id}/output`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "video/mp4");
  const file = join(dir, `${job.kind}-out.mp4`);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  const video = await readVideo(file);
  const tags = await readMp4Metadata(file);
  return { done, video, tags, settings: JSON.parse(tags.settings) as Json };
}

before(async () => {
  ({ dir, model, server } = await startTinyServer("server-modes"));
  ids.png = await upload(encodePng(clip(1, 16, 32).frames[0], 16, 32), "image/png");
  ids.five = await uploadClip("five.mp4", clip(5), sourcePrompt);
  ids.four = await uploadClip("four.mp4", clip(4, 32, 16, 3));
  ids.wrongSize = await uploadClip("wrong.mp4", clip(5, 24, 16));
  // The MP4 signature (what uploads sniff) in front of bytes no decoder can read.
  const broken = new Uint8Array(64).fill(7);
  broken.set(Buffer.from("\0\0\0\x18ftypisom", "latin1"));
  ids.broken = await upload(broken, "video/mp4");
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("mode jobs (animate, extend, loop, edit, connect)", () => {
  it("are listed, their input fields described as upload ids", async () => {
    const doc = (await (await api("/openapi.json")).json()) as Json;
    const schemas = doc.components.schemas;
    for (const [kind, fields] of [
      ["animate", ["image"]],
      ["extend", ["video"]],
      ["loop", ["video"]],
      ["edit", ["video"]],
      ["connect", ["a", "b"]],
    ] as const) {
      const settings = schemas[`Settings.${kind}`];
      assert.ok(settings, `${kind} is served`);
      for (const f of fields) assert.match(settings.properties[f].description, /POST \/uploads/);
      assert.equal(settings.additionalProperties, false, `${kind}'s settings are strict`);
    }
    assert.equal(schemas["Settings.extend"].properties.direction.default, "forward");
    assert.equal(schemas["Settings.edit"].properties.strength.maximum, 1);
  });

  it("refuses unknown, path-like and wrong-type uploads at submission, naming the field", async () => {
    const unknown = randomUUID();
    for (const [kind, settings, field, message] of [
      ["extend", { video: unknown }, "settings.video", /no upload/],
      ["loop", { video: "../x" }, "settings.video", /not an upload id/],
      [
        "edit",
        { video: `../uploads/${ids.five}`, prompt: "at night" },
        "settings.video",
        /not an upload id/,
      ],
      ["extend", { video: ids.png }, "settings.video", /image\/png; this field takes a video/],
      ["animate", { image: ids.five, prompt: "a ball" }, "settings.image", /takes an image/],
      ["connect", { a: ids.five, b: unknown }, "settings.b", /no upload/],
      ["connect", { a: ids.five }, "settings.b", /./],
      ["edit", { video: ids.five }, "settings.prompt", /./],
      ["extend", { video: ids.five, direction: "sideways" }, "settings.direction", /./],
      ["edit", { video: ids.five, prompt: "at night", strength: 1.5 }, "settings.strength", /./],
      ["loop", { video: ids.five, path: "/etc/passwd" }, "settings", /path/],
    ] as const) {
      const res = await post(kind, settings);
      const body = (await res.json()) as Json;
      assert.equal(res.status, 400, `${kind} ${JSON.stringify(settings)}: ${JSON.stringify(body)}`);
      assert.equal(body.error.field, field, JSON.stringify(body));
      assert.match(body.error.message, message);
    }
  });

  it("runs each mode on uploads: sizes, lengths, tags and progress as the CLI's", async () => {
    const seed = 5;
    // All five queued at once; the server's one worker runs them in turn.
    const jobs = {
      animate: await submit("animate", {
        image: ids.png,
        prompt: "a green ball rolls",
        seconds: 1,
        fps: 8,
        seed,
        ...fast,
      }),
      extend: await submit("extend", { video: ids.five, seconds: 2, seed, ...fast }),
      loop: await submit("loop", { video: ids.five, prompt: "a ball", seed, ...fast }),
      edit: await submit("edit", { video: ids.five, prompt: "at night", seed, ...fast }),
      connect: await submit("connect", {
        a: ids.five,
        b: ids.four,
        seconds: 0.5,
        seed,
        ...fast,
      }),
    };
    assert.equal(jobs.edit.settings.strength, 0.6, "defaults are filled in");
    assert.equal(jobs.extend.settings.direction, "forward");

    const common = (o: Awaited<ReturnType<typeof output>>, mode: string, windows: number) => {
      assert.equal(o.tags.mode, mode);
      assert.equal(o.settings.mode, mode);
      assert.equal(o.tags.seed, String(seed));
      assert.equal(o.tags.model, "tiny");
      assert.match(o.tags.model_sha256, /^[0-9a-f]{64}$/);
      assert.deepEqual(
        [o.settings.steps, o.settings.guidance, o.settings.seed, o.settings.method],
        [2, 2, seed, "euler"],
      );
      const meta = o.done.output?.metadata as Json;
      assert.equal(meta.windows, windows);
      // An empty caption (no prompt) is left out of the tags, as the CLI's writeMp4 leaves it.
      assert.equal(meta.caption, o.tags.caption ?? "");
      // One report per denoising step over every window; the last is kept.
      assert.deepEqual(o.done.progress, { step: 2 * windows, total: 2 * windows });
    };

    // tiny's autoencoder halves time: 1 s at 8 fps is 1 + 2·4 = 9 frames, one window.
    const anim = await output(jobs.animate);
    assert.deepEqual([anim.video.width, anim.video.height, anim.video.frames.length], [16, 32, 9]);
    assert.equal(anim.video.fps, 8);
    common(anim, "animate", 1);
    assert.equal(anim.tags.prompt, "a green ball rolls");
    assert.match(anim.tags.caption, /green/i);
    assert.deepEqual([anim.settings.seconds, anim.settings.fps], [1, 8]);
    assert.deepEqual(JSON.parse(anim.tags.source), [`${ids.png}.png`]);

    // No prompt: the uploaded clip's own prompt tag is used, as `zoetrope extend` does.
    const ext = await output(jobs.extend);
    // 16 new frames = 8 latents: 6 in the first window (9 latents, 2 known), 2 in the second.
    assert.deepEqual([ext.video.width, ext.video.height, ext.video.frames.length], [32, 16, 21]);
    common(ext, "extend forward", 2);
    assert.equal(ext.tags.prompt, sourcePrompt);
    assert.deepEqual([ext.settings.direction, ext.settings.seconds], ["forward", 2]);
    assert.deepEqual(JSON.parse(ext.tags.source), [`${ids.five}.mp4`]);

    const looped = await output(jobs.loop);
    assert.equal(looped.video.frames.length, 5 + 14, "the clip and a one-window transition");
    common(looped, "loop", 1);
    assert.equal(looped.tags.prompt, "a ball");
    assert.equal(looped.settings.seconds, undefined, "no seconds: one window's transition");

    const edited = await output(jobs.edit);
    assert.deepEqual(
      [edited.video.width, edited.video.height, edited.video.frames.length],
      [32, 16, 5],
    );
    common(edited, "edit", 1);
    assert.equal(edited.settings.strength, 0.6);
    assert.equal(edited.tags.prompt, "at night");

    const joined = await output(jobs.connect);
    assert.equal(joined.video.frames.length, 5 + 4 + 4, "a, a transition of 0.5 s, b");
    common(joined, "connect", 1);
    assert.equal(joined.tags.prompt, undefined, "no prompt, and connect does not borrow one");
    assert.deepEqual(JSON.parse(joined.tags.source), [`${ids.five}.mp4`, `${ids.four}.mp4`]);
    const stored = joined.done.output?.metadata as Json;
    assert.deepEqual(stored.inputs, { a: ids.five, b: ids.four });
    assert.equal(stored.prompt, "");
  });

  it("fails a job with the mode's own message when the model cannot use an input", async () => {
    const wrong = await submit("loop", { video: ids.wrongSize, ...fast });
    const broken = await submit("edit", { video: ids.broken, prompt: "at night", ...fast });
    const a = await waitFor(wrong.id, finished);
    assert.equal(a.status, "failed");
    assert.match(a.error ?? "", /is 24×16; this model works on widths that are multiples of 16/);
    const b = await waitFor(broken.id, finished);
    assert.equal(b.status, "failed");
    assert.match(b.error ?? "", new RegExp(`^video: .*upload ${ids.broken}`));
    assert.doesNotMatch(b.error ?? "", /uploads\//, "the server's own paths are not shown");
    assert.equal((await api(`/jobs/${broken.id}/output`)).status, 409);
  });

  it("reports every denoising step once, in order, across windows, with previews", async () => {
    // The event stream coalesces progress for slow clients, so the runner's own reports are
    // recorded here, from the kind the server registers, on the server's uploads.
    const kind = extendKind({ model });
    const uploads = new Uploads(join(dir, "data", "uploads"));
    const reports: ProgressReport[] = [];
    const outputPath = join(dir, "direct.mp4");
    await kind.run({
      settings: kind.settings.parse({ video: ids.five, seconds: 2, ...fast, steps: 3 }),
      outputPath,
      inputPath: (id) => uploads.path(id),
      progress: (r) => reports.push(r),
      signal: new AbortController().signal,
    });
    // Two windows of three steps.
    assert.deepEqual(
      reports.map((r) => [r.step, r.total]),
      [1, 2, 3, 4, 5, 6].map((s) => [s, 6]),
    );
    // A preview every ceil(3 / 8) = 1 step (test/server-previews.test.ts spaces them out).
    assert.ok(reports.every((r) => r.preview));
    assert.equal((await readVideo(outputPath)).frames.length, 21);
  });

  it("cancels a running mode job at the next step, leaving no output", async () => {
    // 16 s added at 8 fps is tens of windows of 200 steps: far longer than the cancel takes.
    const job = await submit("extend", { video: ids.five, seconds: 16, steps: 200 });
    await waitFor(job.id, (j) => (j.progress?.step ?? 0) >= 1 || finished(j));
    assert.equal((await api(`/jobs/${job.id}/cancel`, { method: "POST" })).status, 200);
    const done = await waitFor(job.id, finished);
    assert.equal(done.status, "canceled");
    assert.ok((done.progress?.step ?? 0) < (done.progress?.total ?? 0), "stopped before the end");
    const files = await readdir(join(dir, "data", "outputs"));
    assert.ok(!files.some((f) => f.includes(job.id)), `left behind: ${files.join(", ")}`);
  });
});
