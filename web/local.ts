/**
 * The "run on this machine" page (web/local.html): the user picks the files of an ONNX export;
 * the page generates a clip from a prompt in the browser (local-generate.ts), or runs one
 * denoising step on seeded inputs as a check (local-run.ts), showing the backend and the time.
 * Nothing goes to the server: it only served the page and onnxruntime-web.
 */

import { el } from "./dom.ts";
import { type ExportFiles, generateLocally, graphFiles, neededGraphs } from "./local-generate.ts";
import {
  type Backend,
  type ExportManifest,
  LocalVelocity,
  seededStepInputs,
  velocityShapes,
} from "./local-run.ts";

const ui = {
  pickForm: el<HTMLFormElement>("local-form"),
  files: el<HTMLInputElement>("export-files"),
  state: el("export-state"),
  backend: el<HTMLSelectElement>("backend"),
  pickError: el("local-error"),
  genForm: el<HTMLFormElement>("generate-form"),
  prompt: el<HTMLTextAreaElement>("prompt"),
  genSeed: el<HTMLInputElement>("gen-seed"),
  genSteps: el<HTMLInputElement>("gen-steps"),
  genGuidance: el<HTMLInputElement>("gen-guidance"),
  genFps: el<HTMLInputElement>("gen-fps"),
  generate: el<HTMLButtonElement>("generate"),
  genStatus: el("generate-status"),
  genError: el("generate-error"),
  clip: el("clip"),
  player: el<HTMLCanvasElement>("clip-player"),
  clipCaption: el("clip-caption"),
  strip: el("clip-strip"),
  frames: el<HTMLCanvasElement>("clip-frames"),
  stepForm: el<HTMLFormElement>("step-form"),
  seed: el<HTMLInputElement>("seed"),
  run: el<HTMLButtonElement>("run-step"),
  stepError: el("step-error"),
  result: el("step-result"),
  summary: el("step-summary"),
  downloads: el("step-downloads"),
};

const hasWebGpu = "gpu" in navigator && Boolean(navigator.gpu);
const webgpuOption = ui.backend.querySelector<HTMLOptionElement>("option[value=webgpu]");
if (webgpuOption && !hasWebGpu) {
  webgpuOption.disabled = true;
  webgpuOption.textContent += " (not in this browser)";
}

interface Picked {
  manifest: ExportManifest;
  files: ExportFiles;
}

let picked: Picked | null = null;
/** The loaded velocity graph of the step check, kept while the same files and backend are picked. */
let loaded: { velocity: LocalVelocity; prefer: string } | null = null;
const urls: string[] = [];
let playing: ReturnType<typeof setInterval> | null = null;

function show(node: HTMLElement, err: unknown): void {
  node.textContent = err instanceof Error ? err.message : String(err);
  node.hidden = false;
}

async function readPicked(list: FileList): Promise<Picked> {
  const files = new Map<string, Uint8Array>();
  for (const f of Array.from(list)) files.set(f.name, new Uint8Array(await f.arrayBuffer()));
  const manifestBytes = files.get("manifest.json");
  if (!manifestBytes) throw new Error("pick the export's manifest.json too");
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as ExportManifest;
  velocityShapes(manifest); // checks it is an export with a velocity graph
  return { manifest, files };
}

/** Which of the page's two actions the picked files allow. */
function canRun(p: Picked, graphs: string[]): boolean {
  return graphs.every((g) => p.manifest.graphs[g] && p.files.has(p.manifest.graphs[g].file));
}

function enable(): void {
  const guided = Number(ui.genGuidance.value) !== 1;
  ui.generate.disabled = !picked || !canRun(picked, neededGraphs(guided));
  ui.run.disabled = !picked || !canRun(picked, ["velocity"]);
}

ui.genGuidance.addEventListener("input", enable);
ui.pickForm.addEventListener("submit", (e) => e.preventDefault());

ui.files.addEventListener("change", async () => {
  ui.pickError.hidden = true;
  picked = null;
  enable();
  await loaded?.velocity.release();
  loaded = null;
  if (!ui.files.files?.length) return;
  try {
    picked = await readPicked(ui.files.files);
    const { model, clip } = picked.manifest;
    ui.state.textContent = `Model ${model}, ${clip.width}×${clip.height}×${clip.frames} clips, latent [${picked.manifest.latent.join(", ")}].`;
  } catch (err) {
    ui.state.textContent = "";
    show(ui.pickError, err);
  }
  enable();
});

/** A whole number in [min, max] from a field, or an error naming it. */
function numberFrom(input: HTMLInputElement, what: string, min: number, max: number, whole = true) {
  const v = Number(input.value);
  if (input.value.trim() === "" || !Number.isFinite(v) || v < min || v > max) {
    throw new Error(`${what} must be from ${min} to ${max}`);
  }
  if (whole && !Number.isInteger(v)) throw new Error(`${what} must be a whole number`);
  return v;
}

function showClip(frames: Uint8Array[], width: number, height: number, fps: number): void {
  const images = frames.map((rgb) => {
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    return new ImageData(rgba, width, height);
  });
  ui.frames.width = width * images.length;
  ui.frames.height = height;
  const strip = ui.frames.getContext("2d");
  for (const [i, img] of images.entries()) strip?.putImageData(img, i * width, 0);
  ui.player.width = width;
  ui.player.height = height;
  const player = ui.player.getContext("2d");
  let at = 0;
  if (playing) clearInterval(playing);
  const next = () => {
    player?.putImageData(images[at], 0, 0);
    at = (at + 1) % images.length;
  };
  next();
  playing = setInterval(next, 1000 / fps);
  ui.clip.hidden = false;
  ui.strip.hidden = false;
}

ui.genForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const chosen = picked;
  if (!chosen) return;
  ui.genError.hidden = true;
  ui.generate.disabled = true;
  try {
    const prompt = ui.prompt.value.trim();
    if (!prompt) throw new Error("the prompt is empty");
    const options = {
      prompt,
      seed: numberFrom(ui.genSeed, "the seed", 0, 4294967295),
      steps: numberFrom(ui.genSteps, "steps", 1, 200),
      guidance: numberFrom(ui.genGuidance, "guidance", 0, 30, false),
      fps: numberFrom(ui.genFps, "frames a second", 1, 60),
      backend: ui.backend.value as Backend | "auto",
      onStep: (step: number, steps: number) => {
        ui.genStatus.textContent = `Step ${step} of ${steps}`;
      },
    };
    ui.genStatus.textContent = "Loading the model…";
    const clip = await generateLocally(chosen.manifest, chosen.files, options);
    showClip(clip.frames, clip.width, clip.height, clip.fps);
    ui.clipCaption.textContent = `Caption: ${clip.caption}`;
    ui.genStatus.textContent = `Made ${clip.frames.length} frames of ${clip.width}×${clip.height} on ${clip.backend} in ${(clip.milliseconds / 1000).toFixed(1)} s.`;
  } catch (err) {
    ui.genStatus.textContent = "";
    show(ui.genError, err);
  } finally {
    enable();
  }
});

const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);

/** A link that downloads `data` as raw little-endian float32 (made once there is data). */
function downloadable(id: string, name: string, text: string, data: Float32Array): HTMLElement {
  const url = URL.createObjectURL(new Blob([data.slice().buffer]));
  urls.push(url);
  const link = Object.assign(document.createElement("a"), { id, href: url, download: name });
  link.textContent = text;
  return link;
}

ui.stepForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const chosen = picked;
  if (!chosen) return;
  ui.stepError.hidden = true;
  ui.run.disabled = true;
  ui.summary.textContent = "Running…";
  try {
    const prefer = ui.backend.value;
    if (loaded?.prefer !== prefer) {
      await loaded?.velocity.release();
      loaded = null;
      const velocity = await LocalVelocity.load(
        chosen.manifest,
        graphFiles(chosen.manifest, chosen.files, "velocity"),
        prefer as Backend | "auto",
      );
      loaded = { velocity, prefer };
    }
    const seed = numberFrom(ui.seed, "the seed", 0, 4294967295);
    const inputs = seededStepInputs(chosen.manifest, seed);
    const out = await loaded.velocity.step(inputs);
    for (const url of urls.splice(0)) URL.revokeObjectURL(url);
    ui.downloads.replaceChildren(
      downloadable("step-next", "step-next.f32", "x after the step", out.next),
      " · ",
      downloadable("step-velocity", "step-velocity.f32", "the velocity", out.v),
      " (raw little-endian float32)",
    );
    ui.summary.textContent = `One step (t ${inputs.t} → ${inputs.tNext}) on ${out.backend} in ${out.milliseconds.toFixed(1)} ms: RMS of the velocity ${rms(out.v).toFixed(4)}, of x ${rms(out.next).toFixed(4)}.`;
    ui.result.hidden = false;
  } catch (err) {
    ui.summary.textContent = "";
    show(ui.stepError, err);
  } finally {
    enable();
  }
});
