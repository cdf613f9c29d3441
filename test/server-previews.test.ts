/**
 * Previews of the current prediction in the model kinds' progress: a generate job's event stream
 * carries a small picture every few denoising steps (the latent-to-RGB map's, upscaled) and the
 * result's thumbnail at the end; the image and mode kinds report them at the same steps. On the
 * tiny model fixture (random weights: sizes and steps, not what the pictures show).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inflateSync } from "node:zlib";
import type { Video } from "../src/media/video.ts";
import { writeMp4 } from "../src/media/write-mp4.ts";
import type { JobRecord } from "../src/queue/types.ts";
import { imageKind } from "../src/server/kinds/generate.ts";
import { extendKind } from "../src/server/kinds/modes.ts";
import type { ProgressReport } from "../src/server/kinds.ts";
import type { RunningServer } from "../src/server/server.ts";
import { readEvents } from "./server-sse.ts";
import { startTinyServer } from "./tiny-server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON, checked field by field below
type Json = any;

let dir = "";
let model = "";
let server: RunningServer;
const prompt = "a red ball bounces on the grass";

before(async () => {
  ({ dir, model, server } = await startTinyServer("server-previews"));
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A PNG's width, height and its RGB rows (filter bytes dropped; the encoder writes none). */
function readPng(png: Buffer): { width: number; height: number; rgb: Uint8Array } {
  assert.equal(png.subarray(1, 4).toString(), "PNG");
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  const idat = png.indexOf("IDAT");
  const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
  assert.equal(raw.length, (width * 3 + 1) * height);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  return { width, height, rgb };
}

const fromDataUrl = (url: string) =>
  Buffer.from(url.replace(/^data:image\/png;base64,/, ""), "base64");

/** Whether every k×k block of the picture is one colour (a nearest upscale by k). */
function blocky(img: { width: number; height: number; rgb: Uint8Array }, k: number): boolean {
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 3;
      const q = (Math.floor(y / k) * k * img.width + Math.floor(x / k) * k) * 3;
      for (let c = 0; c < 3; c++) if (img.rgb[p + c] !== img.rgb[q + c]) return false;
    }
  return true;
}

/** Runs `kind` directly (the server's events coalesce steps without previews) and returns its reports. */
async function reportsOf<S>(
  kind: {
    settings: { parse(v: unknown): S };
    run(ctx: import("../src/server/kinds.ts").RunContext<S>): Promise<unknown>;
  },
  settings: object,
  inputs: Record<string, string> = {},
  output = "direct.mp4",
): Promise<ProgressReport[]> {
  const reports: ProgressReport[] = [];
  await kind.run({
    settings: kind.settings.parse(settings),
    outputPath: join(dir, output),
    inputPath: async (id) => {
      if (!inputs[id]) throw new Error(`no upload ${id}`);
      return inputs[id];
    },
    progress: (r) => reports.push(r),
    signal: new AbortController().signal,
  });
  return reports;
}

describe("previews of the current prediction", () => {
  it("come with a generate job's events every few steps, then the result's thumbnail", async () => {
    const res = await fetch(`${server.url}/jobs`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${server.auth!.token}`,
      },
      body: JSON.stringify({
        kind: "generate",
        settings: { prompt, width: 32, height: 16, seconds: 0.5, fps: 8, steps: 16 },
      }),
    });
    assert.equal(res.status, 201);
    const job = (await res.json()) as JobRecord;
    // The first job loads the model first, so the stream opens before any step; progress
    // without a preview may be coalesced, but previews are never dropped.
    const events = await readEvents(`${server.url}/jobs/${job.id}/events`, undefined, {
      authorization: `Bearer ${server.auth!.token}`,
    });
    const progress = events.filter((e) => e.event === "progress").map((e) => e.data as Json);
    const shown = progress.filter((p) => p.preview);
    // Every ceil(16 / 8) = 2 steps; the 16th is the result's own thumbnail.
    assert.deepEqual(
      shown.map((p) => p.step),
      [2, 4, 6, 8, 10, 12, 14, 16],
    );
    for (const p of shown.slice(0, -1)) {
      // The 4×2 latent's middle frame, upscaled ×16.
      const img = readPng(fromDataUrl(p.preview));
      assert.deepEqual([img.width, img.height], [64, 32], `step ${p.step}`);
      assert.ok(blocky(img, 16), `step ${p.step}: one colour per latent cell`);
      assert.equal(typeof p.etaSeconds, "number", "with an ETA");
    }
    const last = readPng(fromDataUrl(shown.at(-1).preview));
    assert.deepEqual([last.width, last.height], [32, 16], "the result's first frame");
    const end = events.at(-1)!;
    assert.equal(end.event, "end");
    assert.equal((end.data as Json).output, `/jobs/${job.id}/output`);
  });

  it("are reported by the image kind at the same steps", async () => {
    const reports = await reportsOf(
      imageKind({ model }),
      { prompt, width: 48, height: 32, steps: 5 },
      {},
      "direct.png",
    );
    // ceil(5 / 8) = 1: every step; a 6×4 latent is upscaled ×10.
    assert.deepEqual(
      reports.map((r) => [r.step, r.preview ? readPng(Buffer.from(r.preview)).width : 0]),
      [
        [1, 60],
        [2, 60],
        [3, 60],
        [4, 60],
        [5, 48],
      ],
    );
  });

  it("are reported by the mode kinds every few steps of each window and at its end", async () => {
    const video: Video = {
      width: 32,
      height: 16,
      fps: 8,
      frames: Array.from({ length: 5 }, (_, f) => new Uint8Array(32 * 16 * 3).fill(40 * f)),
    };
    const id = randomUUID();
    const path = join(dir, `${id}.mp4`);
    await writeMp4(video, path, { lossless: true });
    const reports = await reportsOf(
      extendKind({ model }),
      { video: id, seconds: 2, steps: 9, guidance: 2 },
      { [id]: path },
    );
    // Two windows of 9 steps, a preview every ceil(9 / 8) = 2 steps and at each window's 9th.
    assert.deepEqual(
      reports.map((r) => r.step),
      Array.from({ length: 18 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      reports.filter((r) => r.preview).map((r) => r.step),
      [2, 4, 6, 8, 9, 11, 13, 15, 17, 18],
    );
    const mid = readPng(Buffer.from(reports[1].preview!));
    assert.deepEqual([mid.width, mid.height], [64, 32]);
  });
});
