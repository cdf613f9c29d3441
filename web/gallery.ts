/**
 * The gallery: finished jobs, newest first, each with its output, kind, prompt, seed and
 * settings, and a button that submits the same kind and settings again with a new random seed.
 * Outputs are fetched with the token (an <img> or <video> cannot send one) only once their card
 * comes near the screen, and kept as object URLs for as long as the job is in the gallery.
 */
import { apiFetch, apiJson, type Job, postJson } from "./api.ts";

/** How many finished jobs the gallery shows (the newest). */
const GALLERY_SIZE = 24;

export interface GalleryOptions {
  /** The list the cards go in (an <ol> or <ul>). */
  list: HTMLElement;
  /** Shown when there is nothing to list, hidden otherwise. */
  empty: HTMLElement;
  /** Called with the job a re-run made, to follow its progress. */
  onSubmitted(job: Job): void;
  /** Shows an error in `where` (and unhides it), unless it is a 401 (the page handles those). */
  onError(where: HTMLElement, err: unknown): void;
}

/** A seed for a re-run: random, and never the one being re-run. */
export function newSeed(old: unknown): number {
  const pick = new Uint32Array(1);
  do crypto.getRandomValues(pick);
  while (pick[0] === old);
  return pick[0];
}

function settingText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export class Gallery {
  /** Object URLs of outputs fetched so far, by job id. */
  private readonly urls = new Map<string, Promise<string>>();
  private readonly seen: IntersectionObserver;
  /** Loaders of the cards not yet on screen, by card. */
  private readonly pending = new WeakMap<Element, () => void>();

  constructor(private readonly opts: GalleryOptions) {
    this.seen = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          this.seen.unobserve(entry.target);
          this.pending.get(entry.target)?.();
          this.pending.delete(entry.target);
        }
      },
      { rootMargin: "300px" },
    );
  }

  /** Lists the newest finished jobs again (the cards of jobs still listed keep their output). */
  async refresh(): Promise<void> {
    const { jobs } = await apiJson<{ jobs: Job[] }>(`/jobs?status=succeeded&limit=${GALLERY_SIZE}`);
    const kept = new Set(jobs.map((j) => j.id));
    for (const [id, url] of this.urls) {
      if (kept.has(id)) continue;
      this.urls.delete(id);
      void url.then(URL.revokeObjectURL, () => {});
    }
    this.seen.disconnect();
    this.opts.list.replaceChildren(...jobs.map((job) => this.card(job)));
    this.opts.empty.hidden = jobs.length > 0;
  }

  private card(job: Job): HTMLElement {
    const card = document.createElement("li");
    card.className = "card";
    card.dataset.job = job.id;
    const settings = job.settings ?? {};
    const prompt = typeof settings.prompt === "string" ? settings.prompt : null;

    const figure = document.createElement("figure");
    const isVideo = (job.output?.contentType ?? "").startsWith("video/");
    const media = isVideo ? document.createElement("video") : document.createElement("img");
    if (media instanceof HTMLVideoElement) {
      Object.assign(media, { controls: true, loop: true, muted: true, playsInline: true });
      media.setAttribute("aria-label", `Output of job ${job.id}`);
    } else {
      media.alt = prompt ? `Output for “${prompt}”` : `Output of job ${job.id}`;
    }
    media.className = "card-output";
    figure.append(media);

    const line = (cls: string, text: string) => {
      const p = document.createElement("p");
      p.className = cls;
      p.textContent = text;
      return p;
    };
    const parts: HTMLElement[] = [figure];
    if (prompt !== null) parts.push(line("card-prompt", prompt));
    if ("seed" in settings) parts.push(line("card-seed", `Seed ${settingText(settings.seed)}`));
    parts.push(line("card-kind", `${job.kind} · ${new Date(job.createdAt).toLocaleString()}`));

    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Settings";
    const list = document.createElement("dl");
    list.className = "card-settings";
    for (const [name, value] of Object.entries(settings)) {
      if (name === "prompt" || name === "seed") continue;
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = settingText(value);
      dd.dataset.setting = name;
      list.append(dt, dd);
    }
    // What the model read the prompt as, where the kind says.
    const caption = job.output?.metadata?.caption;
    if (typeof caption === "string" && caption !== prompt) {
      const p = line("card-caption", `Caption: ${caption}`);
      details.append(summary, list, p);
    } else details.append(summary, list);
    parts.push(details);

    const error = line("error card-error", "");
    error.hidden = true;
    error.setAttribute("role", "alert");
    if ("seed" in settings) {
      const rerun = document.createElement("button");
      rerun.type = "button";
      rerun.className = "card-rerun";
      rerun.textContent = "Re-run with a new seed";
      rerun.setAttribute("aria-label", `Re-run job ${job.id} with a new seed`);
      rerun.addEventListener("click", () => void this.rerun(job, rerun, error));
      parts.push(rerun);
    }
    parts.push(error);
    card.append(...parts);

    if (job.output) {
      this.pending.set(card, () => void this.load(job, media, error));
      this.seen.observe(card);
    }
    return card;
  }

  private async load(job: Job, media: HTMLImageElement | HTMLVideoElement, error: HTMLElement) {
    let url = this.urls.get(job.id);
    if (!url) {
      url = apiFetch(`/jobs/${job.id}/output`)
        .then((res) => res.blob())
        .then((blob) => URL.createObjectURL(blob));
      this.urls.set(job.id, url);
      // A failed fetch is tried again at the next refresh, not kept.
      url.catch(() => this.urls.delete(job.id));
    }
    try {
      media.src = await url;
    } catch (err) {
      this.opts.onError(error, err);
    }
  }

  private async rerun(job: Job, button: HTMLButtonElement, error: HTMLElement): Promise<void> {
    button.disabled = true;
    error.hidden = true;
    try {
      const settings = { ...job.settings, seed: newSeed(job.settings.seed) };
      this.opts.onSubmitted(await postJson<Job>("/jobs", { kind: job.kind, settings }));
    } catch (err) {
      this.opts.onError(error, err);
    } finally {
      button.disabled = false;
    }
  }
}
