/**
 * The README's picture of the studio: starts a server on a model folder, submits a generate job
 * and a world-render job, waits for both, opens the studio in headless Chromium (Debian's, as
 * the studio tests use), follows the generate job and saves a 1000×700 PNG of the page.
 *
 *   npx tsx tools/studio-screenshot.ts <model-dir | tiny> [docs/studio.png]
 *
 * `tiny` writes the tests' tiny random model (src/testing/tiny-model.ts) first: its outputs are
 * noise, which the README says.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { startServer } from "../src/server/server.ts";
import { writeTinyModel } from "../src/testing/tiny-model.ts";

const [modelArg, out = "docs/studio.png"] = process.argv.slice(2);
if (!modelArg) throw new Error("usage: tools/studio-screenshot.ts <model-dir | tiny> [out.png]");

const dir = await mkdtemp(join(tmpdir(), "zoetrope-screenshot-"));
const model = modelArg === "tiny" ? await writeTinyModel(join(dir, "tiny")) : modelArg;
const server = await startServer({ dataDir: join(dir, "data"), port: 0, host: "127.0.0.1", model });
const token = server.auth!.token;
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  // --no-sandbox: this may run as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio"],
});

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(server.url + path, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function run(kind: string, settings: Record<string, unknown>): Promise<string> {
  const { id } = await api<{ id: string }>("/jobs", { kind, settings });
  for (;;) {
    const job = await api<{ status: string; error: string | null }>(`/jobs/${id}`);
    if (job.status === "succeeded") return id;
    if (job.status === "failed" || job.status === "canceled") {
      throw new Error(`${kind} job ${id} ${job.status}: ${job.error}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

try {
  await run("world-render", { prompt: "a red ball bounces on the grass", seed: 3, seconds: 1 });
  const generated = await run("generate", {
    prompt: "a red ball bounces on the grass",
    width: 64,
    height: 64,
    seconds: 1,
    fps: 8,
    steps: 8,
    seed: 7,
  });

  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 700 });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
  await page.goto(`${server.url}/`, { waitUntil: "load" });
  await page.type("#token", token);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector(`#gallery li[data-job="${generated}"]`);
  // Follows the generate job in the run panel, as after a submission.
  await page.click(`button[aria-label^="Open job ${generated}"]`);
  await page.waitForSelector("#download");
  // The gallery's cards whole, under the end of the run panel.
  await page.$eval("#gallery", (e) => e.scrollIntoView({ block: "end" }));
  await page.evaluate(() => window.scrollBy(0, 16));
  // Every video on screen showing a frame from its middle, not a black box.
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll("video")).every((v) => v.hidden || v.readyState >= 2),
  );
  await page.$$eval("video", (vs) => {
    for (const v of vs) v.currentTime = v.duration / 2;
  });
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll("video")).every(
      (v) => v.hidden || (!v.seeking && v.readyState >= 2),
    ),
  );
  await page.screenshot({ path: out as `${string}.png`, type: "png" });
  console.log(`wrote ${out} (${(await stat(out)).size} bytes)`);
} finally {
  await browser.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
