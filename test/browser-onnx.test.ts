/**
 * Issue 14, item 7: the exported ONNX graphs run in the browser with no server in the loop.
 * A tiny model is exported as `zoetrope export --onnx` does and its files picked on the studio's
 * /local page in headless Chromium (onnxruntime-web on WebAssembly, served from the npm package):
 * one denoising step of its velocity graph matches onnxruntime-node's on the same seeded inputs
 * (read back through the page's download links), and a whole clip generated in the page matches
 * `zoetrope generate`'s for the same prompt, seed and settings.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ortNode from "onnxruntime-node";
import type { Browser, Page } from "puppeteer-core";
import { exportAction } from "../src/cli/export-action.ts";
import { loadModel, T2V_FILE } from "../src/cli/model-files.ts";
import { createDevice } from "../src/devices.ts";
import { generate } from "../src/models/generate.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { saveWeights } from "../src/models/weights.ts";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { tinyLayoutConfig, writeTinyModel } from "../src/testing/tiny-model.ts";
import { Rng } from "../src/util/rng.ts";
import {
  type ExportManifest,
  eulerUpdate,
  seededNormals,
  seededStepInputs,
  velocityShapes,
} from "../web/local-run.ts";
import { launchChromium } from "./chromium.ts";

const SEED = 7;
/** The tiny config reading the whole first-frame layout: its motion as the bundled model does, and marks. */
const CFG = tinyLayoutConfig();

let dir = "";
let exported = "";
let modelDir = "";
let server: RunningServer;
let browser: Browser;
const pageProblems: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoetrope-browser-onnx-"));
  const model = await writeTinyModel(join(dir, "tiny"), CFG);
  await wakeZeroLayers(model);
  modelDir = model;
  exported = join(dir, "onnx");
  await exportAction({ onnx: exported, model, width: 32, height: 16, frames: 5 });
  server = await startServer({
    dataDir: join(dir, "data"),
    port: 0,
    host: "127.0.0.1",
    concurrency: 0,
    rateLimit: { perSecond: 100_000, burst: 100_000 },
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * A fresh DiT's zero-initialised layers (adaLN gates, the output projection) make its velocity
 * exactly 0, which any two runtimes agree on: they get random values here, so that the step
 * compared below computes something.
 */
async function wakeZeroLayers(model: string): Promise<void> {
  const device = await createDevice({ kind: "cpu" });
  const cfg = CFG;
  const t2v = new TextToVideo(device, new Rng(2), cfg);
  const state = await t2v.stateDict();
  let seed = 100;
  for (const [path, values] of Object.entries(state)) {
    if (values.some((v) => v !== 0)) continue;
    const noise = seededNormals(values.length, seed++);
    state[path] = noise.map((v) => 0.2 * v);
  }
  assert.ok(seed > 100, "the tiny DiT has zero-initialised layers to wake");
  t2v.loadStateDict(state);
  await saveWeights(join(model, T2V_FILE), t2v, "text-to-video", cfg);
  t2v.dispose();
}

async function openLocal(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  page.on("pageerror", (err) => pageProblems.push(String(err)));
  page.on("console", (msg) => {
    if (/Content.Security.Policy|Refused/i.test(msg.text())) pageProblems.push(msg.text());
  });
  const res = await page.goto(`${server.url}/local`, { waitUntil: "load" });
  assert.equal(res?.status(), 200);
  return page;
}

/** max |a − b| over the RMS of b. */
function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i] - b[i]));
    sq += b[i] * b[i];
  }
  return max / Math.sqrt(sq / b.length);
}

describe("exported ONNX graphs in the browser", () => {
  it("serves onnxruntime-web from the package, and lets only /local compile WebAssembly", async () => {
    const local = await fetch(`${server.url}/local`);
    assert.equal(local.status, 200);
    const csp = local.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    const studio = await fetch(`${server.url}/`);
    assert.match(studio.headers.get("content-security-policy") ?? "", /script-src 'self'(;|$)/);

    const wasm = await fetch(`${server.url}/studio/ort/ort-wasm-simd-threaded.wasm`);
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    const bytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "a WebAssembly module");
    const etag = wasm.headers.get("etag");
    assert.ok(etag);
    const again = await fetch(`${server.url}/studio/ort/ort-wasm-simd-threaded.wasm`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(again.status, 304);
    const js = await fetch(`${server.url}/studio/ort/ort.wasm.min.mjs`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    // Only the listed files: nothing else of node_modules is reachable.
    for (const path of ["/studio/ort/package.json", "/studio/ort/../package.json"]) {
      assert.equal((await fetch(server.url + path)).status, 401, path);
    }

    const bundle = await (await fetch(`${server.url}/studio/local.js`)).text();
    assert.doesNotMatch(bundle, /^\s*import\s/m, "bundled");
    // The runtime is loaded from /studio/ort/ on use, not bundled into the page's script.
    assert.match(bundle, /\/studio\/ort\//);
    assert.doesNotMatch(bundle, /ort-wasm-simd-threaded/);
  });

  it("runs one denoising step of a tiny model in Chromium as onnxruntime-node does", async () => {
    const manifest = JSON.parse(
      await readFile(join(exported, "manifest.json"), "utf8"),
    ) as ExportManifest;
    const shapes = velocityShapes(manifest);
    const inputs = seededStepInputs(manifest, SEED);
    assert.ok(inputs.layout, "the export of a layout-reading model takes its layout");

    // Node: the same graph and inputs in onnxruntime-node.
    const session = await ortNode.InferenceSession.create(join(exported, "velocity.onnx"));
    const feed = (data: Float32Array, shape: number[]) =>
      new ortNode.Tensor("float32", data, shape);
    const res = await session.run({
      x: feed(inputs.x, shapes.x),
      t: feed(new Float32Array(shapes.t[0]).fill(inputs.t), shapes.t),
      tokens: feed(inputs.tokens, shapes.tokens),
      pooled: feed(inputs.pooled, shapes.pooled),
      ...(inputs.layout ? { layout: feed(inputs.layout, shapes.layout) } : {}),
    });
    await session.release();
    const vNode = res.v.data as Float32Array;
    assert.deepEqual(res.v.dims, manifest.graphs.velocity.outputs[0].shape);
    const nextNode = eulerUpdate(inputs.x, vNode, inputs.tNext - inputs.t);

    // The browser: the export's files picked on /local, one step on WebAssembly.
    const page = await openLocal();
    const downloads = join(dir, "downloads");
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
    const picker = await page.waitForSelector("input#export-files");
    // The step needs only these three.
    const files = (await readdir(exported)).filter((f) =>
      /^(manifest\.json|velocity\.onnx)/.test(f),
    );
    assert.deepEqual(files.sort(), ["manifest.json", "velocity.onnx", "velocity.onnx.data"]);
    await picker!.uploadFile(...files.map((f) => join(exported, f)));
    await page.waitForSelector("#run-step:not([disabled])");
    assert.equal(
      await page.$eval("#export-state", (e) => e.textContent),
      "Model tiny, 32×16×5 clips, latent [4, 3, 2, 4].",
    );
    assert.equal(
      await page.$eval("#generate", (e) => (e as HTMLButtonElement).disabled),
      true,
      "a clip needs the text encoder and decoder too",
    );
    await page.select("#backend", "wasm");
    await page.$eval(
      "#seed",
      (e, s) => {
        (e as HTMLInputElement).value = s;
      },
      String(SEED),
    );
    await page.click("#run-step");
    await page.waitForFunction(
      () =>
        !document.getElementById("step-result")!.hidden ||
        !document.getElementById("step-error")!.hidden,
    );
    assert.equal(
      await page.$eval("#step-error", (e) => (e as HTMLElement).hidden),
      true,
      await page.$eval("#step-error", (e) => e.textContent ?? ""),
    );
    assert.match(
      await page.$eval("#step-summary", (e) => e.textContent ?? ""),
      /^One step \(t 1 → 0\.75\) on wasm in [\d.]+ ms/,
    );

    // The results, read back through the page's own download links.
    const read = async (id: string, name: string) => {
      await page.click(`#${id}`);
      const path = join(downloads, name);
      for (const start = Date.now(); !existsSync(path); ) {
        if (Date.now() - start > 20_000) throw new Error(`${name} was not downloaded`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // The file appears under its own name only once complete.
      const buf = await readFile(path);
      return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    };
    const vWeb = await read("step-velocity", "step-velocity.f32");
    const nextWeb = await read("step-next", "step-next.f32");
    assert.equal(vWeb.length, vNode.length);
    const vErr = relativeError(vWeb, vNode);
    const nextErr = relativeError(nextWeb, nextNode);
    assert.ok(vErr < 1e-4, `velocity: onnxruntime-web vs -node, max diff / RMS ${vErr}`);
    assert.ok(nextErr < 1e-4, `stepped x: onnxruntime-web vs -node, max diff / RMS ${nextErr}`);
    // Not a trivially equal pair: v is far from zero, so the step moved x.
    const rms = Math.sqrt(vNode.reduce((a, v) => a + v * v, 0) / vNode.length);
    assert.ok(rms > 0.05, `RMS of the velocity ${rms}`);
    assert.ok(relativeError(nextNode, inputs.x) > 1e-2);
    await page.close();
  });

  it("generates a clip in Chromium as `zoetrope generate` does", async () => {
    const settings = { prompt: "a red ball bounces on the grass", seed: 5, steps: 3, guidance: 4 };
    const fps = 8;
    const device = await createDevice({ kind: "cpu" });
    const { ae, t2v } = await loadModel(device, modelDir);
    const expected = await generate(ae, t2v, {
      ...settings,
      width: 32,
      height: 16,
      frames: 5,
      fps,
      method: "euler",
    });
    ae.dispose();
    t2v.dispose();

    const page = await openLocal();
    const picker = await page.waitForSelector("input#export-files");
    const files = await readdir(exported);
    await picker!.uploadFile(...files.map((f) => join(exported, f)));
    await page.waitForSelector("#generate:not([disabled])");
    await page.select("#backend", "wasm");
    for (const [id, value] of Object.entries({
      prompt: settings.prompt,
      "gen-seed": settings.seed,
      "gen-steps": settings.steps,
      "gen-guidance": settings.guidance,
      "gen-fps": fps,
    })) {
      await page.$eval(
        `#${id}`,
        (e, v) => {
          (e as HTMLInputElement).value = v;
        },
        String(value),
      );
    }
    const seen: string[] = [];
    await page.exposeFunction("sawStatus", (s: string) => seen.push(s));
    await page.evaluate(() => {
      const status = document.getElementById("generate-status")!;
      new MutationObserver(() =>
        (window as unknown as { sawStatus(s: string): void }).sawStatus(status.textContent ?? ""),
      ).observe(status, { childList: true, characterData: true, subtree: true });
    });
    await page.click("#generate");
    await page.waitForFunction(
      () =>
        !document.getElementById("clip-strip")!.hidden ||
        !document.getElementById("generate-error")!.hidden,
    );
    assert.equal(
      await page.$eval("#generate-error", (e) => (e as HTMLElement).hidden),
      true,
      await page.$eval("#generate-error", (e) => e.textContent ?? ""),
    );
    assert.match(
      await page.$eval("#generate-status", (e) => e.textContent ?? ""),
      /^Made 5 frames of 32×16 on wasm in [\d.]+ s\.$/,
    );
    assert.ok(seen.includes("Step 3 of 3"), `progress shown: ${JSON.stringify(seen)}`);
    assert.equal(
      await page.$eval("#clip-caption", (e) => e.textContent),
      `Caption: ${expected.caption}`,
      "the same caption from the prompt and seed",
    );

    // Every frame, from the page's strip, against the CLI's frames.
    const strip = await page.$eval("#clip-frames", (e) => {
      const c = e as HTMLCanvasElement;
      const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      return { width: c.width, height: c.height, rgba: Array.from(data) };
    });
    assert.deepEqual([strip.width, strip.height], [32 * 5, 16]);
    let maxDiff = 0;
    let sumDiff = 0;
    const values = new Set<number>();
    let n = 0;
    expected.video.frames.forEach((frame, f) => {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 32; x++) {
          for (let ch = 0; ch < 3; ch++) {
            const want = frame[(y * 32 + x) * 3 + ch];
            const got = strip.rgba[(y * strip.width + f * 32 + x) * 4 + ch];
            maxDiff = Math.max(maxDiff, Math.abs(got - want));
            sumDiff += Math.abs(got - want);
            values.add(want);
            n++;
          }
        }
      }
    });
    // Float rounding (WebAssembly's kernels against the engine's) may move a value across a
    // rounding boundary of the 8-bit output: one level at most, and rarely.
    assert.ok(maxDiff <= 1, `largest difference ${maxDiff} levels`);
    assert.ok(sumDiff / n < 0.05, `mean difference ${sumDiff / n}`);
    assert.ok(values.size > 20, "the clip is not flat");
    await page.close();
  });

  it("raised no script errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(pageProblems, []);
  });
});
