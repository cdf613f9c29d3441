/**
 * Running the graphs `zoetrope export --onnx` writes in the browser, with no server in the loop:
 * onnxruntime-web on WebAssembly, or on WebGPU where the browser has it. The runtime's scripts
 * and .wasm files come from the server that served the page (/studio/ort/, out of the
 * onnxruntime-web package), never from a CDN, and are loaded only when a graph is first run.
 *
 * What runs here is one denoising step of the sampler (src/diffusion/sample.ts): the exported
 * velocity graph v(x, t, tokens, pooled), then the Euler update x + (t_next − t)·v. The pure
 * parts (seeded inputs, the update) also run in Node, so that a test can feed onnxruntime-node
 * the very same inputs.
 */
import type * as Ort from "onnxruntime-web";
import type { LayoutParts } from "../src/models/layout-input.ts";

/** Where the server puts onnxruntime-web's files (see src/server/studio.ts). */
export const ORT_BASE = "/studio/ort/";

export type Backend = "wasm" | "webgpu";

/** The part of an export's manifest.json a step needs (see src/cli/export-action.ts). */
export interface ExportManifest {
  format: string;
  model: string;
  /** The clip size the graphs were exported for. */
  clip: { width: number; height: number; frames: number };
  /** [C, T, H, W] of the latent. */
  latent: number[];
  graphs: Record<
    string,
    {
      file: string;
      inputs: { name: string; shape: number[]; dtype: string }[];
      outputs: { name: string; shape: number[] }[];
    }
  >;
  config: {
    textToVideo: {
      vocabHash: string;
      text: { maxTokens: number };
      dit: { patch: number[] } & LayoutParts;
      flow: { baseTokens: number };
    };
  };
}

/** The inputs of one step: the velocity graph's (all float32) and the time to step to. */
export interface StepInputs {
  x: Float32Array;
  t: number;
  tNext: number;
  tokens: Float32Array;
  pooled: Float32Array;
  /** The first-frame layout, for a model whose velocity graph takes one. */
  layout?: Float32Array;
}

export interface StepResult {
  /** The velocity the graph gave. */
  v: Float32Array;
  /** x after the step: x + (t_next − t)·v. */
  next: Float32Array;
  backend: Backend;
  milliseconds: number;
}

/** The shapes of the unguided velocity graph's inputs x, tokens and pooled. */
export function velocityShapes(manifest: ExportManifest): Record<string, number[]> {
  if (manifest.format !== "zoetrope-onnx-1") {
    throw new Error(`not a Zoetrope ONNX export (format ${JSON.stringify(manifest.format)})`);
  }
  const graph = manifest.graphs.velocity;
  if (!graph) throw new Error("the export has no velocity graph");
  const shapes = Object.fromEntries(graph.inputs.map((i) => [i.name, i.shape]));
  for (const name of ["x", "t", "tokens", "pooled"]) {
    if (!shapes[name]) throw new Error(`the velocity graph has no input ${name}`);
  }
  return shapes;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Standard normal numbers from a 32-bit seed (mulberry32, then Box–Muller): the same in every
 * JavaScript engine, so a browser and Node make the same inputs from a seed.
 */
export function seededNormals(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - uniform(); // (0, 1]: log(u) is finite
    const a = 2 * Math.PI * uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * Inputs for a step at time `t` down to `tNext`, made from `seed`: x is noise, and the text
 * features stand in for an encoded caption (random, scaled like a layer norm's output).
 */
export function seededStepInputs(
  manifest: ExportManifest,
  seed: number,
  t = 1,
  tNext = 0.75,
): StepInputs {
  const shapes = velocityShapes(manifest);
  return {
    x: seededNormals(count(shapes.x), seed),
    t,
    tNext,
    tokens: seededNormals(count(shapes.tokens), seed + 1),
    pooled: seededNormals(count(shapes.pooled), seed + 2),
    ...(shapes.layout ? { layout: seededNormals(count(shapes.layout), seed + 3) } : {}),
  };
}

/** The sampler's Euler update, x + (t_next − t)·v, in float32 as the engine does it. */
export function eulerUpdate(x: Float32Array, v: Float32Array, dt: number): Float32Array {
  if (x.length !== v.length) throw new Error(`x has ${x.length} numbers, v ${v.length}`);
  const out = new Float32Array(x.length);
  const step = Math.fround(dt);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + step * v[i];
  return out;
}

export type OrtModule = typeof Ort;

const runtimes = new Map<Backend, Promise<OrtModule>>();

/** WebGPU when asked, or when the browser has a WebGPU adapter and `prefer` is "auto"; else wasm. */
export async function pickBackend(prefer: Backend | "auto" = "auto"): Promise<Backend> {
  if (prefer !== "auto") return prefer;
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) return "wasm";
  // navigator.gpu can be there with no adapter behind it (a blocked or missing GPU).
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  return adapter ? "webgpu" : "wasm";
}

/** onnxruntime-web's build for `backend`, loaded from this server on first use. */
export function loadRuntime(backend: Backend): Promise<OrtModule> {
  let loaded = runtimes.get(backend);
  if (!loaded) {
    const file = backend === "webgpu" ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs";
    // A path the bundler leaves alone: the runtime is not in the studio's bundle.
    const url = new URL(ORT_BASE + file, location.href).href;
    loaded = (import(/* @vite-ignore */ url) as Promise<OrtModule>).then((ort) => {
      ort.env.wasm.wasmPaths = new URL(ORT_BASE, location.href).href;
      // Threads need a cross-origin isolated page; without one the runtime uses one anyway.
      if (!crossOriginIsolated) ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      return ort;
    });
    loaded.catch(() => runtimes.delete(backend));
    runtimes.set(backend, loaded);
  }
  return loaded;
}

/** An exported graph's bytes and, when its weights are external, those of its .data file. */
export interface GraphFiles {
  graph: Uint8Array;
  /** The external data file, by the name the graph refers to it (e.g. velocity.onnx.data). */
  data?: { name: string; bytes: Uint8Array };
}

/** A session for one exported graph on `backend` (WebGPU falls back to wasm for what it lacks). */
export function createSession(
  ort: OrtModule,
  files: GraphFiles,
  backend: Backend,
): Promise<Ort.InferenceSession> {
  return ort.InferenceSession.create(files.graph, {
    executionProviders: backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"],
    externalData: files.data ? [{ path: files.data.name, data: files.data.bytes }] : [],
    graphOptimizationLevel: "all",
  });
}

/** A loaded velocity graph, ready to take steps. */
export class LocalVelocity {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    private readonly shapes: Record<string, number[]>,
    readonly backend: Backend,
  ) {}

  static async load(
    manifest: ExportManifest,
    files: GraphFiles,
    prefer: Backend | "auto" = "auto",
  ): Promise<LocalVelocity> {
    const shapes = velocityShapes(manifest);
    const backend = await pickBackend(prefer);
    const ort = await loadRuntime(backend);
    const session = await createSession(ort, files, backend);
    return new LocalVelocity(ort, session, shapes, backend);
  }

  /** One denoising step from `inputs`. */
  async step(inputs: StepInputs): Promise<StepResult> {
    const { ort, shapes } = this;
    const tensor = (name: string, data: Float32Array) => {
      if (data.length !== count(shapes[name])) {
        throw new Error(`${name} has ${data.length} numbers; the graph takes [${shapes[name]}]`);
      }
      return new ort.Tensor("float32", data, shapes[name]);
    };
    const batch = shapes.t[0] ?? 1;
    const started = performance.now();
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      x: tensor("x", inputs.x),
      t: tensor("t", new Float32Array(batch).fill(inputs.t)),
      tokens: tensor("tokens", inputs.tokens),
      pooled: tensor("pooled", inputs.pooled),
    };
    if (shapes.layout) {
      if (!inputs.layout) throw new Error("this model's velocity graph takes a layout");
      feeds.layout = tensor("layout", inputs.layout);
    }
    const out = await this.session.run(feeds);
    const v = (await out.v.getData()) as Float32Array;
    const milliseconds = performance.now() - started;
    for (const t of Object.values(out)) t.dispose();
    return {
      v,
      next: eulerUpdate(inputs.x, v, inputs.tNext - inputs.t),
      backend: this.backend,
      milliseconds,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
