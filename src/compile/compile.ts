/**
 * compile(step): runs `step` once per shape signature of its arguments as a trace (nothing is
 * computed), lowers every op call to ONNX, and from then on runs the whole step as one ONNX
 * Runtime session. Persistent state (parameters, optimiser moments, EMA, step count, loss-scale
 * state: any tensor that existed before the call and that the step reads or writes in place)
 * becomes graph inputs and outputs; between calls it stays in its host arrays, and each run's
 * new state is written into preallocated arrays that are swapped in, so nothing is copied.
 *
 * The step must be a function of its arguments and of that state: values it uploads with
 * `device.tensor()` while traced become constants of the program, and random numbers must come
 * in as arguments. Numbers that change every call without recompiling (AdamW's learning rate)
 * are declared in `dynamic` and passed to each call.
 */
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import type { Device } from "../tensor/device.ts";
import type { DType } from "../tensor/dtype.ts";
import { emptyTensor, tidy, track } from "../tensor/engine.ts";
import { DeviceError } from "../tensor/errors.ts";
import { fmt } from "../tensor/shape.ts";
import { StorageRef, Tensor } from "../tensor/tensor.ts";
import { Box, type HostArray, newArray, OnnxBackend } from "./backend.ts";
import { quantizeWeightMatMuls } from "./quantize.ts";
import "./register.ts";
import { Trace } from "./trace.ts";

export type StepArgs = Record<string, Tensor>;
export type StepResult = Tensor | Tensor[] | Record<string, Tensor> | undefined;

export interface CompileOptions {
  /** Scalars fed on every call (see `dynamic` in lower/lowering.ts); today: "lr". */
  dynamic?: string[];
  /** The device, when the step takes no tensor arguments. */
  device?: Device;
  /** A name for error messages and exported graphs. */
  name?: string;
  /**
   * "int8": weight matmuls run as int8 (quantize.ts), for sampling programs whose weights no
   * longer change. Default "f32".
   */
  weights?: "f32" | "int8";
}

export interface CompiledStep<A, R extends StepResult> {
  (args: A, scalars?: Record<string, number>): Promise<R>;
  /** Programs compiled so far (one per shape signature). */
  readonly programs: ReadonlyMap<string, Program>;
}

interface OutputSlot {
  name: string;
  dims: number[];
  dtype: DType;
}

interface StateOut extends OutputSlot {
  box: Box;
  /** The array the next run writes into; swapped with the box's after the run. */
  spare: HostArray;
}

/** One compiled shape signature of a step. */
export interface Program {
  readonly session: ort.InferenceSession;
  /** The serialised ONNX model. */
  readonly model: Uint8Array;
  readonly nodes: number;
  readonly ops: number;
  readonly args: { key: string; name: string; dims: number[]; dtype: DType }[];
  readonly stateIn: { box: Box; name: string; dims: number[]; dtype: DType }[];
  readonly stateOut: StateOut[];
  readonly results: OutputSlot[];
  /** How to rebuild the step's return value from the result tensors, in order. */
  readonly shape: "none" | "tensor" | "array" | string[];
  readonly dynamic: string[];
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = { f32: "float32", i32: "int32", f16: "float16" };

export function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ["cpu"],
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    enableCpuMemArena: true,
    // Off: the static memory plan held ~450 MB more at peak on a DiT block's training step, for
    // no measured speed (bench/cpu-step.ts, AMD EPYC, 2026-12-05).
    enableMemPattern: false,
    // ZOETROPE_ORT_PROFILE=<prefix>: ONNX Runtime's per-node profile of every compiled program,
    // written as <prefix>_<date>.json when the process exits (tools/ort-profile.ts sums it up).
    ...(process.env.ZOETROPE_ORT_PROFILE
      ? { enableProfiling: true, profileFilePrefix: process.env.ZOETROPE_ORT_PROFILE }
      : {}),
  };
}

const profiled: ort.InferenceSession[] = [];
function keepProfile(session: ort.InferenceSession): void {
  if (!process.env.ZOETROPE_ORT_PROFILE) return;
  if (profiled.length === 0)
    process.once("exit", () => {
      for (const s of profiled) s.endProfiling();
    });
  profiled.push(session);
}

function backendOf(device: Device): OnnxBackend {
  if (!(device.backend instanceof OnnxBackend))
    throw new DeviceError(
      `compile: needs an onnx device (createDevice({ kind: "onnx" })), got ${device.kind}`,
    );
  return device.backend;
}

function flatten(r: StepResult): { tensors: Tensor[]; shape: Program["shape"] } {
  if (r === undefined) return { tensors: [], shape: "none" };
  if (r instanceof Tensor) return { tensors: [r], shape: "tensor" };
  if (Array.isArray(r)) return { tensors: r, shape: "array" };
  const keys = Object.keys(r);
  return { tensors: keys.map((k) => (r as Record<string, Tensor>)[k]), shape: keys };
}

function signature(args: StepArgs, scalars: string[]): string {
  const parts = Object.keys(args)
    .sort()
    .map((k) => `${k}:${args[k].dtype}${fmt(args[k].shape)}`);
  return `${parts.join(";")}|${scalars.join(",")}`;
}

export interface TracedStep {
  trace: Trace;
  args: Program["args"];
  results: OutputSlot[];
  shape: Program["shape"];
}

/**
 * Traces `fn` on symbolic stand-ins of `args` (nothing is computed) and marks its results as
 * graph outputs; `names` chooses the graph's argument and result names.
 */
export function traceStep<R extends StepResult>(
  fn: (args: StepArgs) => R,
  device: Device,
  args: StepArgs,
  dynamic: string[],
  names: { arg: (key: string) => string; result: (index: number, key?: string) => string } = {
    arg: (k) => `arg_${k.replace(/[^A-Za-z0-9_]/g, "_")}`,
    result: (i) => `out${i}`,
  },
): TracedStep {
  const backend = backendOf(device);
  if (backend.tracer)
    throw new DeviceError("compile: a step cannot be compiled while another is traced");
  const trace = new Trace(new Set(dynamic));
  const keys = Object.keys(args).sort();
  const argSlots: Program["args"] = [];
  let result: { tensors: Tensor[]; shape: Program["shape"] };
  backend.tracer = trace;
  try {
    result = tidy(() => {
      const stand = {} as Record<string, Tensor>;
      for (const k of keys) {
        const a = args[k];
        const t = emptyTensor(device, { shape: a.shape, dtype: a.dtype });
        const name = names.arg(k);
        trace.argument(t.storage as Box, name, a.shape, a.dtype);
        argSlots.push({ key: k, name, dims: [...a.shape], dtype: a.dtype });
        stand[k] = t;
      }
      const out = flatten(fn(stand));
      for (const t of out.tensors) {
        if (!(t instanceof Tensor)) throw new DeviceError("compile: the step must return tensors");
      }
      // A returned gradient of an argument outlives the stand-in it is attached to.
      for (const t of Object.values(stand))
        if (t.grad && out.tensors.includes(t.grad)) t.grad = null;
      return out;
    });
  } finally {
    backend.tracer = null;
  }
  const b = trace.b;
  const results: OutputSlot[] = result.tensors.map((t, i) => {
    const name = names.result(i, Array.isArray(result.shape) ? result.shape[i] : undefined);
    b.output(trace.read(t), name, t.dtype, t.shape);
    return { name, dims: [...t.shape], dtype: t.dtype };
  });
  for (const t of result.tensors) t.dispose();
  return { trace, args: argSlots, results, shape: result.shape };
}

/** Traces `fn` and builds its program. */
async function build<R extends StepResult>(
  fn: (args: StepArgs) => R,
  device: Device,
  args: StepArgs,
  dynamic: string[],
  weights: "f32" | "int8",
): Promise<Program> {
  const { trace, args: argSlots, results, shape } = traceStep(fn, device, args, dynamic);
  const b = trace.b;
  if (weights === "int8") {
    if (trace.written.size > 0)
      throw new DeviceError(
        "compile: int8 weights are for sampling; this step updates state in place",
      );
    quantizeWeightMatMuls(b, trace.stateIn);
  }
  const stateOut: StateOut[] = [...trace.written].map((box, i) => {
    const name = `new_state${i}`;
    b.output(
      trace.read({ storage: box, shape: [box.size], dtype: box.dtype, size: box.size }),
      name,
      box.dtype,
      [box.size],
    );
    return { name, dims: [box.size], dtype: box.dtype, box, spare: newArray(box.dtype, box.size) };
  });
  if (results.length === 0 && stateOut.length === 0)
    throw new DeviceError(
      "compile: the step has no effect: it returns no tensor and updates no state",
    );
  const model = b.encode();
  const used = new Set(b.inputs.map((i) => i.name));
  const session = await ort.InferenceSession.create(model, sessionOptions());
  keepProfile(session);
  return {
    session,
    model,
    nodes: b.nodes.length,
    ops: trace.opCount,
    args: argSlots.filter((a) => used.has(a.name)),
    stateIn: trace.stateIn
      .filter((s) => used.has(s.name))
      .map((s) => ({ box: s.box, name: s.name, dims: [...s.shape], dtype: s.dtype })),
    stateOut,
    results,
    shape,
    dynamic: [...trace.dynamicUsed],
  };
}

function feed(data: Float32Array | Int32Array, slot: { dims: number[]; dtype: DType }): ort.Tensor {
  return new ort.Tensor(ORT_TYPE[slot.dtype], data, slot.dims);
}

/** Runs a program once: feeds arguments and state, swaps in the new state, returns the results. */
async function runProgram(
  device: Device,
  p: Program,
  args: StepArgs,
  scalars: Record<string, number>,
): Promise<Tensor[]> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const a of p.args) {
    const box = args[a.key].storage as Box;
    if (!box.data) throw new DeviceError(`compile: argument "${a.key}" has no data`);
    feeds[a.name] = feed(box.data as Float32Array, a);
  }
  for (const s of p.stateIn) feeds[s.name] = feed(s.box.data as Float32Array, s);
  for (const k of p.dynamic) {
    const v = scalars[k];
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new DeviceError(
        `compile: dynamic scalar "${k}" must be passed as a finite number, got ${v}`,
      );
    feeds[`dyn_${k}`] = new ort.Tensor("float32", Float32Array.of(v), []);
  }
  const fetches: Record<string, ort.Tensor | null> = {};
  for (const s of p.stateOut) fetches[s.name] = feed(s.spare, s);
  for (const r of p.results) fetches[r.name] = null;
  const out = await p.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
  for (const s of p.stateOut) {
    const fresh = s.spare;
    s.spare = s.box.data as HostArray;
    s.box.data = fresh;
  }
  return p.results.map((r) => {
    const data = out[r.name].data as Float32Array | Int32Array;
    const box = new Box(data, r.dtype, data.length);
    return track(
      new Tensor(device, new StorageRef(device, box, data.length, r.dtype), [...r.dims], r.dtype),
    );
  });
}

function rebuild(shape: Program["shape"], tensors: Tensor[]): StepResult {
  if (shape === "none") return undefined;
  if (shape === "tensor") return tensors[0];
  if (shape === "array") return tensors;
  return Object.fromEntries(shape.map((k, i) => [k, tensors[i]]));
}

/** Compiles `fn` (see the file comment); each call returns a promise of fn's result. */
export function compile<A extends { [K in keyof A]: Tensor }, R extends StepResult>(
  fn: (args: A) => R,
  options: CompileOptions = {},
): CompiledStep<A, R> {
  const programs = new Map<string, Program>();
  const building = new Map<string, Promise<Program>>();
  const dynamic = [...(options.dynamic ?? [])].sort();
  const call = async (args: A, scalars: Record<string, number> = {}): Promise<R> => {
    const argMap = args as unknown as StepArgs;
    const first = Object.values(argMap)[0];
    const device = options.device ?? first?.device;
    if (!device)
      throw new DeviceError("compile: the step has no tensor arguments; pass options.device");
    const backend = backendOf(device);
    for (const [k, t] of Object.entries(argMap)) {
      if (!(t instanceof Tensor)) throw new DeviceError(`compile: argument "${k}" is not a Tensor`);
      if (t.device !== device)
        throw new DeviceError(`compile: argument "${k}" lives on another device`);
    }
    const key = signature(argMap, dynamic);
    return backend.enqueue(async () => {
      let p = programs.get(key);
      if (!p) {
        let pending = building.get(key);
        if (!pending) {
          pending = build(
            fn as unknown as (a: StepArgs) => R,
            device,
            argMap,
            dynamic,
            options.weights ?? "f32",
          );
          building.set(key, pending);
        }
        p = await pending;
        programs.set(key, p);
        building.delete(key);
      }
      return rebuild(p.shape, await runProgram(device, p, argMap, scalars)) as R;
    });
  };
  return Object.assign(call, { programs }) as CompiledStep<A, R>;
}
