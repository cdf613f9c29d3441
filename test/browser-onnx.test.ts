/**
 * Issue 14, item 7: the exported ONNX graphs run in the browser with no server in the loop.
 * A tiny model is exported as `zoetrope export --onnx` does; one denoising step of its velocity
 * graph runs in Node (onnxruntime-node) and in headless Chromium (onnxruntime-web on WebAssembly,
 * served by the studio from the npm package) on the same seeded inputs, picked and run through
 * the studio's /local page and read back from its download links; the two must agree.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ortNode from "onnxruntime-node";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { exportAction } from "../src/cli/export-action.ts";
import { T2V_FILE } from "../src/cli/model-files.ts";
import { createDevice } from "../src/devices.ts";
import { getConfig } from "../src/models/registry.ts";
import { TextToVideo } from "../src/models/text-to-video.ts";
import { saveWeights } from "../src/models/weights.ts";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { writeTinyModel } from "../src/testing/tiny-model.ts";
import { Rng } from "../src/util/rng.ts";
import {
  type ExportManifest,
  eulerUpdate,
  seededNormals,
  seededStepInputs,
  velocityShapes,
} from "../web/local-run.ts";

const CHROMIUM = "/usr/bin/chromium";
const SEED = 7;

let dir = "";
let exported = "";
let server: RunningServer;
let browser: Browser;
const pageProblems: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests run Debian's Chromium. Install it with \`sudo apt-get install -y chromium\` (.ci/run does)`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), "zoetrope-browser-onnx-"));
  const model = await writeTinyModel(join(dir, "tiny"));
  await wakeZeroLayers(model);
  exported = join(dir, "onnx");
  await exportAction({ onnx: exported, model, width: 32, height: 16, frames: 5 });
  server = await startServer({
    dataDir: join(dir, "data"),
    port: 0,
    host: "127.0.0.1",
    concurrency: 0,
    rateLimit: { perSecond: 100_000, burst: 100_000 },
  });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: test machines run as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
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
  const cfg = getConfig("tiny");
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
    assert.ok(
      bundle.length < 100_000,
      `the runtime is loaded on use, not bundled: ${bundle.length}`,
    );
  });

  it("runs one denoising step of a tiny model in Chromium as onnxruntime-node does", async () => {
    const manifest = JSON.parse(
      await readFile(join(exported, "manifest.json"), "utf8"),
    ) as ExportManifest;
    const shapes = velocityShapes(manifest);
    const inputs = seededStepInputs(manifest, SEED);

    // Node: the same graph and inputs in onnxruntime-node.
    const session = await ortNode.InferenceSession.create(join(exported, "velocity.onnx"));
    const feed = (data: Float32Array, shape: number[]) =>
      new ortNode.Tensor("float32", data, shape);
    const res = await session.run({
      x: feed(inputs.x, shapes.x),
      t: feed(new Float32Array(shapes.t[0]).fill(inputs.t), shapes.t),
      tokens: feed(inputs.tokens, shapes.tokens),
      pooled: feed(inputs.pooled, shapes.pooled),
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
    const files = (await readdir(exported)).filter((f) =>
      /^(manifest\.json|velocity\.onnx)/.test(f),
    );
    assert.deepEqual(files.sort(), ["manifest.json", "velocity.onnx", "velocity.onnx.data"]);
    await picker!.uploadFile(...files.map((f) => join(exported, f)));
    await page.waitForSelector("#run-step:not([disabled])");
    assert.equal(
      await page.$eval("#export-state", (e) => e.textContent),
      "Model tiny, latent [4, 3, 2, 4].",
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
        !document.getElementById("local-error")!.hidden,
    );
    assert.equal(
      await page.$eval("#local-error", (e) => (e as HTMLElement).hidden),
      true,
      await page.$eval("#local-error", (e) => e.textContent ?? ""),
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

  it("raised no script errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(pageProblems, []);
  });
});
