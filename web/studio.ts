/**
 * The studio page (web/index.html): paste the token once, pick a job kind, fill its settings,
 * submit, follow the job's progress (step, ETA, preview), see and download the output, cancel,
 * list past jobs, and browse the finished ones in a gallery (re-run with a new seed). Everything shown from the server goes in as text, never as HTML.
 */
import {
  ApiError,
  apiFetch,
  apiJson,
  type Job,
  type Kind,
  postJson,
  savedToken,
  saveToken,
  TERMINAL,
  whenUnauthorized,
} from "./api.ts";
import { el } from "./dom.ts";
import { Gallery } from "./gallery.ts";
import { buildSettingsForm, type SettingsForm } from "./schema-form.ts";
import { readEventStream } from "./sse.ts";

const ui = {
  tokenForm: el<HTMLFormElement>("token-form"),
  token: el<HTMLInputElement>("token"),
  forget: el<HTMLButtonElement>("forget-token"),
  authMessage: el("auth-message"),
  tokenState: el("token-state"),
  jobForm: el<HTMLFormElement>("job-form"),
  kind: el<HTMLSelectElement>("kind"),
  kindDescription: el("kind-description"),
  settings: el("settings"),
  submit: el<HTMLButtonElement>("submit"),
  formMessage: el("form-message"),
  run: el("run"),
  runId: el("run-id"),
  runStatus: el("run-status"),
  runProgress: el<HTMLProgressElement>("run-progress"),
  runSteps: el("run-steps"),
  runEta: el("run-eta"),
  runError: el("run-error"),
  cancel: el<HTMLButtonElement>("cancel"),
  previewFigure: el("preview-figure"),
  preview: el<HTMLImageElement>("preview"),
  result: el("result"),
  resultVideo: el<HTMLVideoElement>("result-video"),
  resultImage: el<HTMLImageElement>("result-image"),
  downloadLine: el("download-line"),
  gallery: el("gallery"),
  galleryEmpty: el("gallery-empty"),
  refreshJobs: el<HTMLButtonElement>("refresh-jobs"),
  jobs: el("jobs"),
};

let kinds: Kind[] = [];
let form: SettingsForm | null = null;
/** The job shown in the run panel, and the controller that stops following it. */
let following: { id: string; stop: AbortController } | null = null;
let outputUrl: string | null = null;

function show(node: HTMLElement, text: string | null): void {
  node.textContent = text ?? "";
  node.hidden = !text;
}

const gallery = new Gallery({
  list: ui.gallery,
  empty: ui.galleryEmpty,
  onSubmitted: (job) => {
    void follow(job);
    void refreshJobs();
    ui.run.scrollIntoView({ block: "start" });
  },
  onError: (where, err) => report(where, err),
});

function setReady(ready: boolean): void {
  ui.kind.disabled = !ready;
  ui.submit.disabled = !ready;
  ui.refreshJobs.disabled = !ready;
}

whenUnauthorized((err) => {
  saveToken(null);
  setReady(false);
  ui.tokenState.textContent = "";
  show(
    ui.authMessage,
    `The server refused the token (401: ${err.message}). Paste the token that \`zoetrope serve\` printed at its first start; it is also in <data-dir>/token.`,
  );
  ui.token.focus();
});

/** Messages for errors other than a 401 (which whenUnauthorized has shown already). */
function report(where: HTMLElement, err: unknown): void {
  if (err instanceof ApiError && err.status === 401) return;
  show(where, err instanceof Error ? err.message : String(err));
}

ui.tokenForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const token = ui.token.value.trim();
  if (!token) return;
  saveToken(token);
  ui.token.value = "";
  show(ui.authMessage, null);
  void connect();
});

ui.forget.addEventListener("click", () => {
  saveToken(null);
  setReady(false);
  ui.tokenState.textContent = "Token forgotten.";
});

/** Loads the kinds and the jobs with the saved token. */
async function connect(): Promise<void> {
  ui.tokenState.textContent = "Checking the token…";
  try {
    kinds = (await apiJson<{ kinds: Kind[] }>("/kinds")).kinds;
  } catch (err) {
    ui.tokenState.textContent = "";
    report(ui.formMessage, err);
    return;
  }
  ui.tokenState.textContent = "Token accepted; it is kept in this tab only.";
  const previous = ui.kind.value;
  ui.kind.replaceChildren(
    ...kinds.map((k) =>
      Object.assign(document.createElement("option"), { value: k.name, textContent: k.name }),
    ),
  );
  if (kinds.some((k) => k.name === previous)) ui.kind.value = previous;
  setReady(kinds.length > 0);
  showKind();
  await refreshJobs();
}

function showKind(): void {
  const kind = kinds.find((k) => k.name === ui.kind.value);
  show(ui.formMessage, null);
  if (!kind) return;
  ui.kindDescription.textContent = `${kind.description} Output: ${kind.output.contentType}.`;
  form = buildSettingsForm(ui.settings, kind);
}

ui.kind.addEventListener("change", showKind);

ui.jobForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!form) return;
  show(ui.formMessage, null);
  ui.submit.disabled = true;
  try {
    const settings = await form.values();
    if (!settings) {
      show(ui.formMessage, "Some settings need fixing (marked above).");
      return;
    }
    const job = await postJson<Job>("/jobs", { kind: ui.kind.value, settings });
    void follow(job);
    await refreshJobs();
  } catch (err) {
    if (err instanceof ApiError && form.markIssues(err.issues)) {
      show(ui.formMessage, `The server refused the settings: ${err.message}`);
    } else report(ui.formMessage, err);
  } finally {
    ui.submit.disabled = !savedToken();
  }
});

function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.ceil(seconds));
  return s < 60 ? `about ${s} s left` : `about ${Math.floor(s / 60)} min ${s % 60} s left`;
}

function showStatus(job: Job): void {
  ui.runStatus.textContent = `Status: ${job.status}`;
  ui.cancel.hidden = TERMINAL.has(job.status);
  if (job.status === "failed")
    show(ui.runError, `The job failed: ${job.error ?? "no reason given"}`);
  if (job.progress) showProgress(job.progress.step, job.progress.total, null);
}

function showProgress(step: number, total: number, eta: number | null): void {
  ui.runProgress.max = Math.max(1, total);
  ui.runProgress.value = step;
  ui.runSteps.textContent = `Step ${step} of ${total}`;
  ui.runEta.textContent = formatEta(eta);
}

function clearOutput(): void {
  if (outputUrl) URL.revokeObjectURL(outputUrl);
  outputUrl = null;
  ui.resultVideo.removeAttribute("src");
  ui.resultVideo.load();
  ui.resultImage.removeAttribute("src");
  ui.downloadLine.replaceChildren();
  ui.result.hidden = true;
}

/** Shows job `job` in the run panel and follows its event stream until it ends. */
async function follow(job: Job): Promise<void> {
  following?.stop.abort();
  const me = { id: job.id, stop: new AbortController() };
  following = me;
  clearOutput();
  ui.run.hidden = false;
  ui.runId.textContent = job.id;
  show(ui.runError, null);
  ui.previewFigure.hidden = true;
  ui.preview.removeAttribute("src");
  ui.runSteps.textContent = "";
  ui.runEta.textContent = "";
  ui.runProgress.value = 0;
  showStatus(job);
  let ended = false;
  try {
    await readEventStream(
      `/jobs/${job.id}/events`,
      (e) => {
        const data = e.data as Record<string, unknown>;
        if (e.event === "status") showStatus(data as unknown as Job);
        else if (e.event === "progress") {
          showProgress(data.step as number, data.total as number, data.etaSeconds as number | null);
          if (typeof data.preview === "string" && data.preview.startsWith("data:image/")) {
            ui.preview.src = data.preview;
            ui.previewFigure.hidden = false;
          }
        } else if (e.event === "end") {
          ended = true;
          const done = data.job as Job;
          showStatus(done);
          if (typeof data.output === "string") void showOutput(done, data.output, me);
        }
      },
      me.stop.signal,
    );
    if (!ended && !me.stop.signal.aborted) {
      show(ui.runError, "The event stream closed before the job ended; open the job again below.");
    }
  } catch (err) {
    if (following === me) report(ui.runError, err);
  }
  if (following === me) await refreshJobs();
}

/** Fetches the output with the token and shows it from an object URL (a link cannot send one). */
async function showOutput(job: Job, path: string, me: typeof following): Promise<void> {
  try {
    const res = await apiFetch(path);
    const blob = await res.blob();
    if (following !== me) return;
    clearOutput();
    outputUrl = URL.createObjectURL(blob);
    const type = blob.type || job.output?.contentType || "";
    const isVideo = type.startsWith("video/");
    ui.resultVideo.hidden = !isVideo;
    ui.resultImage.hidden = isVideo;
    if (isVideo) ui.resultVideo.src = outputUrl;
    else ui.resultImage.src = outputUrl;
    const named = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1];
    const ext = job.output?.file.split(".").pop() ?? "bin";
    // Made here, not in the page: a link without an address is not one until the output is in.
    const link = document.createElement("a");
    link.id = "download";
    link.href = outputUrl;
    link.download = named ?? `${job.kind}-${job.id}.${ext}`;
    link.textContent = `Download ${link.download} (${blob.size} bytes)`;
    ui.downloadLine.replaceChildren(link);
    ui.result.hidden = false;
  } catch (err) {
    report(ui.runError, err);
  }
}

ui.cancel.addEventListener("click", async () => {
  if (!following) return;
  ui.cancel.disabled = true;
  try {
    showStatus(await postJson<Job>(`/jobs/${following.id}/cancel`, {}));
    ui.runStatus.textContent += " (cancel asked; it stops at its next step)";
  } catch (err) {
    report(ui.runError, err);
  } finally {
    ui.cancel.disabled = false;
  }
});

/** Lists the jobs, and the finished ones in the gallery, again. */
async function refreshJobs(): Promise<void> {
  let jobs: Job[];
  try {
    [jobs] = await Promise.all([
      apiJson<{ jobs: Job[] }>("/jobs?limit=50").then((r) => r.jobs),
      gallery.refresh(),
    ]);
  } catch (err) {
    report(ui.formMessage, err);
    return;
  }
  ui.jobs.replaceChildren(
    ...jobs.map((job) => {
      const row = document.createElement("tr");
      const cell = (text: string) => {
        const td = document.createElement("td");
        td.textContent = text;
        row.append(td);
        return td;
      };
      cell(new Date(job.createdAt).toLocaleString());
      cell(job.kind);
      cell(job.status + (job.error ? `: ${job.error}` : ""));
      cell(job.progress ? `${job.progress.step}/${job.progress.total}` : "");
      const open = document.createElement("button");
      open.type = "button";
      open.textContent = "Open";
      open.setAttribute("aria-label", `Open job ${job.id} (${job.kind}, ${job.status})`);
      open.addEventListener("click", () => void follow(job));
      cell("").append(open);
      return row;
    }),
  );
  if (jobs.length === 0) {
    const td = document.createElement("td");
    td.colSpan = 5;
    td.textContent = "No jobs yet.";
    const row = document.createElement("tr");
    row.append(td);
    ui.jobs.append(row);
  }
}

ui.refreshJobs.addEventListener("click", () => void refreshJobs());

if (savedToken()) void connect();
else ui.tokenState.textContent = "No token yet: paste it above.";
