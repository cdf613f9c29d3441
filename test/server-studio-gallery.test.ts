/**
 * Issue 14: the studio's gallery, in headless Chromium (Debian's, via puppeteer-core) against a
 * real server with the tiny model fixture: a finished job is shown with its output, prompt, seed
 * and settings, and "Re-run with a new seed" submits the same kind and settings with another
 * seed, follows the new job to its end and adds it to the gallery.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import type { RunningServer } from "../src/server/server.ts";
import { launchChromium } from "./chromium.ts";
import { startTinyServer } from "./tiny-server.ts";

let dir = "";
let server: RunningServer;
let browser: Browser;
const pageProblems: string[] = [];

before(async () => {
  browser = await launchChromium();
  ({ dir, server } = await startTinyServer("studio-gallery"));
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface JobBody {
  id: string;
  kind: string;
  status: string;
  settings: Record<string, unknown>;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(server.url + path, {
    ...init,
    headers: {
      authorization: `Bearer ${server.auth!.token}`,
      "content-type": "application/json",
    },
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

async function waitForEnd(id: string): Promise<JobBody> {
  for (const start = Date.now(); Date.now() - start < 60_000; ) {
    const job = await api<JobBody>(`/jobs/${id}`);
    if (["succeeded", "failed", "canceled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not end in 60 s`);
}

async function openStudio(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (err) => pageProblems.push(String(err)));
  page.on("console", (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) pageProblems.push(msg.text());
  });
  await page.goto(`${server.url}/`, { waitUntil: "load" });
  await page.type("#token", server.auth!.token);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#kind:not([disabled])");
  return page;
}

/** What a gallery card shows, read from the page. */
function readCard(page: Page, id: string) {
  // No named functions inside: tsx's __name helper does not exist in the page.
  return page.$eval(`#gallery li[data-job="${id}"]`, (card) => {
    const settings: Record<string, string> = {};
    for (const dd of Array.from(card.querySelectorAll<HTMLElement>(".card-settings dd"))) {
      settings[dd.dataset.setting!] = dd.textContent ?? "";
    }
    const [kind, prompt, seed] = [".card-kind", ".card-prompt", ".card-seed"].map(
      (s) => card.querySelector(s)?.textContent ?? null,
    );
    return { kind, prompt, seed, settings };
  });
}

describe("studio gallery", () => {
  it("shows a finished job with its output, prompt, seed and settings; re-runs it with a new seed", async () => {
    const settings = {
      prompt: "a green cube spins",
      width: 32,
      height: 32,
      seconds: 0.5,
      fps: 8,
      steps: 2,
      seed: 1234,
    };
    const first = await api<JobBody>("/jobs", {
      method: "POST",
      body: JSON.stringify({ kind: "generate", settings }),
    });
    assert.equal((await waitForEnd(first.id)).status, "succeeded");

    const page = await openStudio();
    const card = `#gallery li[data-job="${first.id}"]`;
    await page.waitForSelector(card);
    assert.equal(await page.$eval("#gallery-empty", (e) => (e as HTMLElement).hidden), true);
    const shown = await readCard(page, first.id);
    assert.match(shown.kind ?? "", /^generate · /);
    assert.equal(shown.prompt, settings.prompt);
    assert.equal(shown.seed, "Seed 1234");
    assert.equal(shown.settings.width, "32");
    assert.equal(shown.settings.steps, "2");
    assert.equal(shown.settings.method, "euler", "the server's defaults are shown too");

    // The output is fetched with the token once the card is near the screen, and plays.
    await page.$eval(card, (e) => e.scrollIntoView());
    const video = await page.waitForFunction(
      (sel) => {
        const v = document.querySelector(`${sel} video.card-output`) as HTMLVideoElement | null;
        return v?.src.startsWith("blob:") && v.readyState >= 2 && v.videoWidth > 0
          ? [v.videoWidth, v.videoHeight]
          : null;
      },
      { timeout: 20_000 },
      card,
    );
    assert.deepEqual(await video.jsonValue(), [32, 32]);

    await page.click(`${card} .card-rerun`);
    await page.waitForFunction(
      (old) => {
        const id = document.getElementById("run-id")!.textContent ?? "";
        return /^[0-9a-f-]{36}$/.test(id) && id !== old;
      },
      {},
      first.id,
    );
    const second = await page.$eval("#run-id", (e) => e.textContent ?? "");
    assert.equal(await page.$eval("#run", (e) => (e as HTMLElement).hidden), false);
    await page.waitForFunction(
      () =>
        /^Status: (succeeded|failed|canceled)/.test(
          document.getElementById("run-status")!.textContent ?? "",
        ),
      { timeout: 60_000 },
    );
    assert.equal(
      await page.$eval("#run-status", (e) => e.textContent),
      "Status: succeeded",
      "the page followed the new job to its end",
    );
    assert.ok(
      await page.$eval("#run-steps", (e) => e.textContent === "Step 2 of 2"),
      "and showed its progress",
    );

    const rerun = await api<JobBody>(`/jobs/${second}`);
    const original = await api<JobBody>(`/jobs/${first.id}`);
    assert.equal(rerun.kind, "generate");
    assert.notEqual(rerun.settings.seed, original.settings.seed);
    assert.ok(Number.isInteger(rerun.settings.seed) && (rerun.settings.seed as number) >= 0);
    assert.deepEqual(
      { ...rerun.settings, seed: 0 },
      { ...original.settings, seed: 0 },
      "the same settings but for the seed",
    );

    // The new job comes first in the gallery, with its own seed.
    await page.waitForFunction(
      (id) => document.querySelector("#gallery li")?.getAttribute("data-job") === id,
      {},
      second,
    );
    const again = await readCard(page, second);
    assert.equal(again.prompt, settings.prompt);
    assert.equal(again.seed, `Seed ${rerun.settings.seed}`);
    await page.close();
  });

  it("raised no script errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(pageProblems, []);
  });
});
