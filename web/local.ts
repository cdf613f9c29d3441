/**
 * The "run on this machine" page (web/local.html): the user picks the files of an ONNX export,
 * and the page runs one denoising step of its velocity graph in the browser (local-run.ts),
 * showing the backend, the time and the result, which can be downloaded as raw float32.
 * Generating a whole clip here (text encoder, all steps, decoder) is the next step.
 */
import {
  type Backend,
  type ExportManifest,
  type GraphFiles,
  LocalVelocity,
  seededStepInputs,
  velocityShapes,
} from "./local-run.ts";

function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const ui = {
  form: el<HTMLFormElement>("local-form"),
  files: el<HTMLInputElement>("export-files"),
  state: el("export-state"),
  backend: el<HTMLSelectElement>("backend"),
  seed: el<HTMLInputElement>("seed"),
  run: el<HTMLButtonElement>("run-step"),
  error: el("local-error"),
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
  files: GraphFiles;
}

let picked: Picked | null = null;
/** The loaded graph, kept for further runs while the same files and backend are picked. */
let loaded: { velocity: LocalVelocity; prefer: string } | null = null;
const urls: string[] = [];

function showError(err: unknown): void {
  ui.error.textContent = err instanceof Error ? err.message : String(err);
  ui.error.hidden = false;
}

async function readPicked(list: FileList): Promise<Picked> {
  const byName = new Map(Array.from(list, (f) => [f.name, f]));
  const manifestFile = byName.get("manifest.json");
  if (!manifestFile) throw new Error("pick the export's manifest.json too");
  const manifest = JSON.parse(await manifestFile.text()) as ExportManifest;
  velocityShapes(manifest); // checks it is an export with a velocity graph
  const graphName = manifest.graphs.velocity.file;
  const graph = byName.get(graphName);
  if (!graph) throw new Error(`pick ${graphName} too`);
  const data = byName.get(`${graphName}.data`);
  return {
    manifest,
    files: {
      graph: new Uint8Array(await graph.arrayBuffer()),
      data: data ? { name: data.name, bytes: new Uint8Array(await data.arrayBuffer()) } : undefined,
    },
  };
}

ui.files.addEventListener("change", async () => {
  ui.error.hidden = true;
  ui.run.disabled = true;
  picked = null;
  await loaded?.velocity.release();
  loaded = null;
  if (!ui.files.files?.length) return;
  try {
    picked = await readPicked(ui.files.files);
    ui.state.textContent = `Model ${picked.manifest.model}, latent [${picked.manifest.latent.join(", ")}].`;
    ui.run.disabled = false;
  } catch (err) {
    ui.state.textContent = "";
    showError(err);
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

ui.form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const chosen = picked;
  if (!chosen) return;
  ui.error.hidden = true;
  ui.run.disabled = true;
  ui.summary.textContent = "Running…";
  try {
    const prefer = ui.backend.value;
    if (loaded?.prefer !== prefer) {
      await loaded?.velocity.release();
      loaded = null;
      const velocity = await LocalVelocity.load(
        chosen.manifest,
        chosen.files,
        prefer as Backend | "auto",
      );
      loaded = { velocity, prefer };
    }
    const seed = Number(ui.seed.value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 4294967295) {
      throw new Error("the seed is a whole number from 0 to 4294967295");
    }
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
    ui.summary.dataset.backend = out.backend;
    ui.result.hidden = false;
  } catch (err) {
    ui.summary.textContent = "";
    showError(err);
  } finally {
    ui.run.disabled = !picked;
  }
});
