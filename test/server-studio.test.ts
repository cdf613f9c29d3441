/**
 * Issue 14: the browser studio, driven in headless Chromium (Debian's, via puppeteer-core) against
 * a real server with the tiny model fixture: the page loads without a token while the API still
 * needs one, a wrong token shows the 401 message, the settings form is made from the kind's
 * schema (upload fields upload), and a generate job submitted from the page shows its progress
 * and preview, ends, and plays from an object URL.
 */
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { encodePng } from "../src/server/png.ts";
import type { RunningServer } from "../src/server/server.ts";
import { launchChromium } from "./chromium.ts";
import { startTinyServer } from "./tiny-server.ts";

let dir = "";
let server: RunningServer;
let browser: Browser;
/** Errors the pages threw, and Content-Security-Policy complaints: there must be none. */
const pageProblems: string[] = [];

before(async () => {
  browser = await launchChromium();
  ({ dir, server } = await startTinyServer("server-studio"));
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh tab (its own sessionStorage, so no token) on the studio. */
async function openStudio(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (err) => pageProblems.push(String(err)));
  page.on("console", (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) pageProblems.push(msg.text());
  });
  const res = await page.goto(`${server.url}/`, { waitUntil: "load" });
  assert.equal(res?.status(), 200);
  return page;
}

async function useToken(page: Page, token: string): Promise<void> {
  await page.type("#token", token);
  await page.click("#token-form button[type=submit]");
}

const text = (page: Page, selector: string) =>
  page.$eval(selector, (e) => (e as HTMLElement).textContent ?? "");

describe("browser studio", () => {
  it("is served without a token, with a strict CSP, while the API still needs one", async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/studio\/studio\.js"><\/script>/);
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(html, /\son[a-z]+=/i, "no inline event handlers");

    const js = await fetch(`${server.url}/studio/studio.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    const code = await js.text();
    assert.match(code, /getReader\(\)/, "the bundle reads the event stream itself");
    assert.doesNotMatch(code, /\bnew EventSource\b/);
    assert.doesNotMatch(code, /^\s*import\s/m, "bundled: nothing left to import");
    const css = await fetch(`${server.url}/studio/studio.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);

    for (const path of ["/jobs", "/kinds", "/openapi.json"]) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 401, path);
    }
    const missing = await fetch(`${server.url}/studio/nope.js`);
    assert.equal(missing.status, 401, "only the studio's own files are open");
  });

  it("shows a clear message when the token is wrong", async () => {
    const page = await openStudio();
    assert.match(await text(page, "#token-state"), /No token yet/);
    await useToken(page, "w".repeat(43));
    await page.waitForSelector("#auth-message:not([hidden])");
    const message = await text(page, "#auth-message");
    assert.match(message, /refused the token \(401: the token is wrong\)/);
    assert.match(message, /zoetrope serve/);
    assert.equal(await page.$eval("#kind", (e) => (e as HTMLSelectElement).disabled), true);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a refused token is dropped");
    await page.close();
  });

  it("makes the settings form from each kind's schema; upload fields upload", async () => {
    const page = await openStudio();
    await useToken(page, server.auth!.token);
    await page.waitForSelector("#kind:not([disabled]) option[value=animate]");
    assert.equal(await text(page, "#token-state"), "Token accepted; it is kept in this tab only.");
    const kinds = await page.$$eval("#kind option", (os) => os.map((o) => o.value));
    const served = (await (
      await fetch(`${server.url}/kinds`, {
        headers: { authorization: `Bearer ${server.auth!.token}` },
      })
    ).json()) as { kinds: { name: string }[] };
    assert.deepEqual(
      kinds,
      served.kinds.map((k) => k.name),
    );

    await page.select("#kind", "generate");
    await page.waitForSelector("#setting-steps");
    const width = await page.$eval("#setting-width", (e) => {
      const i = e as HTMLInputElement;
      return [i.type, i.min, i.max, i.value, i.step];
    });
    assert.deepEqual(width, ["number", "16", "512", "64", "1"]);
    const method = await page.$$eval("#setting-method option", (os) =>
      os.map((o) => [o.value, (o as HTMLOptionElement).selected]),
    );
    assert.deepEqual(method, [
      ["euler", true],
      ["heun", false],
    ]);
    assert.equal(await page.$eval("#setting-prompt", (e) => e.tagName), "TEXTAREA");
    assert.equal(await page.$eval("#setting-guidance", (e) => (e as HTMLInputElement).step), "any");

    // An out-of-range value is stopped in the page and marked on its field.
    await page.$eval("#setting-prompt", (e) => {
      (e as HTMLTextAreaElement).value = "a red ball";
    });
    await page.$eval("#setting-width", (e) => {
      (e as HTMLInputElement).value = "9999";
    });
    await page.click("#submit");
    await page.waitForSelector("#setting-width[aria-invalid=true]");
    assert.match(await text(page, "#setting-width-error"), /out of range \(16 to 512/);

    await page.select("#kind", "animate");
    const picker = await page.waitForSelector("input#setting-image[type=file]");
    assert.equal(
      await page.$eval("#setting-image", (e) => (e as HTMLInputElement).accept),
      "image/png,image/jpeg",
    );
    const png = join(dir, "start.png");
    await writeFile(png, encodePng(new Uint8Array(32 * 32 * 3).fill(200), 32, 32));
    await picker!.uploadFile(png);
    await page.waitForFunction(() =>
      /^Uploaded start\.png \(/.test(
        document.getElementById("setting-image-status")!.textContent ?? "",
      ),
    );
    const id = /\(([0-9a-f-]{36})\)/.exec(await text(page, "#setting-image-status"))?.[1];
    assert.ok(id, "the status names the upload's id");
    const info = await fetch(`${server.url}/uploads/${id}`, {
      headers: { authorization: `Bearer ${server.auth!.token}` },
    });
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as { contentType: string }).contentType, "image/png");

    // Submitted, the setting holds the upload's id.
    await page.$eval("#setting-prompt", (e) => {
      (e as HTMLTextAreaElement).value = "a red ball";
    });
    for (const [name, value] of [
      ["steps", "1"],
      ["seconds", "0.5"],
    ]) {
      await page.$eval(
        `#setting-${name}`,
        (e, v) => {
          (e as HTMLInputElement).value = v;
        },
        value,
      );
    }
    await page.click("#submit");
    await page.waitForFunction(() =>
      /^[0-9a-f-]{36}$/.test(document.getElementById("run-id")!.textContent ?? ""),
    );
    const job = (await (
      await fetch(`${server.url}/jobs/${await text(page, "#run-id")}`, {
        headers: { authorization: `Bearer ${server.auth!.token}` },
      })
    ).json()) as { kind: string; settings: Record<string, unknown> };
    assert.equal(job.kind, "animate");
    assert.equal(job.settings.image, id);
    assert.equal(job.settings.steps, 1);
    await page.close();
  });

  it("runs a generate job: live progress and preview, the end, a playable video", async () => {
    const page = await openStudio();
    await useToken(page, server.auth!.token);
    await page.waitForSelector("#kind:not([disabled]) option[value=generate]");
    await page.select("#kind", "generate");
    await page.waitForSelector("#setting-steps");
    const settings = { prompt: "a red ball bounces", width: 32, height: 32, seconds: 0.5, fps: 8 };
    for (const [name, value] of Object.entries({ ...settings, steps: 2 })) {
      await page.$eval(
        `#setting-${name}`,
        (e, v) => {
          (e as HTMLInputElement).value = v;
        },
        String(value),
      );
    }
    // Everything the progress line shows, as it changes (a fast job may pass a step quickly).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const steps = document.getElementById("run-steps")!;
      new MutationObserver(() => seen.push(steps.textContent ?? "")).observe(steps, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await page.click("#submit");
    await page.waitForSelector("#run:not([hidden])");
    await page.waitForFunction(
      () =>
        /^Status: (succeeded|failed|canceled)/.test(
          document.getElementById("run-status")!.textContent ?? "",
        ),
      { timeout: 60_000 },
    );
    assert.equal(await text(page, "#run-status"), "Status: succeeded");
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    assert.ok(seen.includes("Step 2 of 2"), `progress shown: ${JSON.stringify(seen)}`);
    assert.deepEqual(
      await page.$eval("#run-progress", (e) => [
        (e as HTMLProgressElement).value,
        (e as HTMLProgressElement).max,
      ]),
      [2, 2],
    );
    // Previews come only in the stream's progress events: this one was read from the stream.
    const preview = await page.$eval("#preview", (e) => (e as HTMLImageElement).src);
    assert.match(preview, /^data:image\/png;base64,/);

    const video = await page.waitForFunction(
      () => {
        const v = document.getElementById("result-video") as HTMLVideoElement;
        return !v.hidden && v.src.startsWith("blob:") && v.readyState >= 2 && v.videoWidth > 0
          ? { src: v.src, width: v.videoWidth, height: v.videoHeight, duration: v.duration }
          : null;
      },
      { timeout: 20_000 },
    );
    const shown = (await video.jsonValue()) as {
      src: string;
      width: number;
      height: number;
      duration: number;
    };
    assert.match(shown.src, new RegExp(`^blob:${server.url}/`));
    assert.deepEqual([shown.width, shown.height], [32, 32]);
    assert.ok(shown.duration > 0, `duration ${shown.duration}`);
    assert.equal(await page.$eval("#result-video", (e) => (e as HTMLVideoElement).error), null);
    const link = await page.$eval("#download", (e) => [
      (e as HTMLAnchorElement).href,
      (e as HTMLAnchorElement).download,
    ]);
    assert.equal(link[0], shown.src, "the download link is the same object URL");
    assert.match(link[1], /^generate-[0-9a-f-]{36}\.mp4$/);

    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll("#jobs tr")).some((r) =>
        /generate.*succeeded/s.test(r.textContent ?? ""),
      ),
    );
    await page.close();
  });

  it("cancels a running job from the page", async () => {
    const page = await openStudio();
    await useToken(page, server.auth!.token);
    await page.waitForSelector("#kind:not([disabled]) option[value=generate]");
    await page.select("#kind", "generate");
    await page.waitForSelector("#setting-steps");
    // 200 steps, so that it cannot end before the cancel; small, so that each step (and so the
    // wait for the cancel, taken at the next step) is short on a busy machine.
    const settings = { prompt: "a blue box", width: 96, height: 96, seconds: 1, steps: 200 };
    for (const [name, value] of Object.entries(settings)) {
      await page.$eval(
        `#setting-${name}`,
        (e, v) => {
          (e as HTMLInputElement).value = v;
        },
        String(value),
      );
    }
    await page.click("#submit");
    // Clicked in the page the moment a step shows: the 200 steps take only a second or two, and
    // a click sent from here after the wait (two more round trips, on a busy machine, while the
    // gallery loads earlier outputs) could come after the end.
    await page.waitForFunction(
      () => {
        const running = /^Step [1-9]\d* of 200$/.test(
          document.getElementById("run-steps")!.textContent ?? "",
        );
        if (running) document.getElementById("cancel")!.click();
        return running;
      },
      { polling: "mutation" },
    );
    await page.waitForFunction(
      () => document.getElementById("run-status")!.textContent === "Status: canceled",
    );
    assert.equal(await page.$eval("#cancel", (e) => (e as HTMLElement).hidden), true);
    assert.equal(await page.$eval("#result", (e) => (e as HTMLElement).hidden), true, "no output");
    const steps = await text(page, "#run-steps");
    assert.ok(Number(/^Step (\d+)/.exec(steps)?.[1]) < 200, `stopped before the end: ${steps}`);
    await page.close();
  });

  it("raised no script errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(pageProblems, []);
  });
});
