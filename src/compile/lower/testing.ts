/**
 * Parity checks of the ONNX lowerings for lower.test.ts: a case runs engine ops on the float64
 * CPU reference and, compiled, in ONNX Runtime (the onnx device), and compares outputs and
 * gradients. Gradients come from `backward` inside the compiled function, so the backward ops
 * that autograd emits are lowered too. The cases of a group share one compiled program; every
 * message names the op and the case, and a program that fails to build or run is retried case
 * by case to find the one that broke it.
 */
import assert from "node:assert/strict";
import { createDevice, type Device } from "../../devices.ts";
import { backward } from "../../tensor/autograd.ts";
import type { DType } from "../../tensor/dtype.ts";
import { tidy } from "../../tensor/engine.ts";
import { add, mul } from "../../tensor/ops/elementwise.ts";
import { sum } from "../../tensor/ops/reduce.ts";
import { fmt } from "../../tensor/shape.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import { scaledError } from "../../testing/op-check.ts";
import { Rng } from "../../util/rng.ts";
import { compile } from "../compile.ts";

export interface In {
  shape: number[];
  dtype?: "f32" | "i32";
  /** Element i's value (default N(0, 1); i32 inputs need one). */
  gen?: (rng: Rng, i: number) => number;
  /** Whether this input's gradient is compared (default: float inputs, when the case has grads). */
  grad?: boolean;
}

export interface Case {
  /** The op under test, as named in the op table. */
  op: string;
  /** What this case covers (shapes, flags). */
  name: string;
  inputs: In[];
  fn: (...xs: Tensor[]) => Tensor | Tensor[];
  /** Compare gradients (default true). */
  grad?: boolean;
  /** Outputs that enter the loss Σ out·w (default: every output that requires grad). */
  loss?: number[];
  /** Bound on scaledError (default 1e-4). */
  tol?: number;
  /**
   * Also return the inputs from the compiled step. Needed where no node reads an argument (fill
   * reads only its input's shape): compile.ts declares such an argument as a graph input but
   * does not feed it, and ONNX Runtime refuses the run ("input … is missing in 'feeds'").
   */
  keepInputs?: boolean;
}

let devices: Promise<{ ref: Device; onnx: Device }> | null = null;

export function parityDevices(): Promise<{ ref: Device; onnx: Device }> {
  devices ??= (async () => ({
    ref: await createDevice({ kind: "cpu", precision: "f64" }),
    onnx: await createDevice({ kind: "onnx" }),
  }))();
  return devices;
}

const asList = (r: Tensor | Tensor[]): Tensor[] => (Array.isArray(r) ? r : [r]);

function inputData(c: Case, seed: number): number[][] {
  const rng = new Rng(seed);
  return c.inputs.map((s) => {
    const n = s.shape.reduce((p, d) => p * d, 1);
    return Array.from({ length: n }, (_, i) => (s.gen ? s.gen(rng, i) : rng.normal()));
  });
}

const wantsGrad = (c: Case, s: In) =>
  (c.grad ?? true) && (s.dtype ?? "f32") === "f32" && s.grad !== false;

/** What the reference computed for one case, and the loss weights it used. */
interface Expected {
  data: number[][];
  outs: Float64Array[];
  shapes: number[][];
  dtypes: DType[];
  /** Indices of outputs in the loss, with their weights. */
  weighted: { k: number; w: Float64Array }[];
  grads: (Float64Array | null)[];
}

async function reference(c: Case, seed: number): Promise<Expected> {
  const { ref } = await parityDevices();
  const data = inputData(c, seed);
  const xs = c.inputs.map((s, i) => ref.tensor(data[i], s.shape, s.dtype ?? "f32"));
  c.inputs.forEach((s, i) => {
    xs[i].requiresGrad = wantsGrad(c, s);
  });
  const rng = new Rng(seed + 7919);
  const weighted: Expected["weighted"] = [];
  const outs = tidy(() => {
    const o = asList(c.fn(...xs));
    let loss: Tensor | null = null;
    o.forEach((t, k) => {
      if (!t.requiresGrad || (c.loss && !c.loss.includes(k))) return;
      const w = Float64Array.from({ length: t.size }, () => rng.normal());
      weighted.push({ k, w });
      const term = sum(mul(t, ref.tensor(w, t.shape, t.dtype)));
      loss = loss ? add(loss, term) : term;
    });
    if (loss) backward(loss);
    return o;
  });
  const grads = await Promise.all(
    xs.map(async (t) => (t.grad ? Float64Array.from(await t.grad.toArray()) : null)),
  );
  return {
    data,
    outs: await Promise.all(outs.map(async (t) => Float64Array.from(await t.toArray()))),
    shapes: outs.map((t) => [...t.shape]),
    dtypes: outs.map((t) => t.dtype),
    // Without any gradient (sign, step, …) the compiled step would not read the weights.
    weighted: grads.some((g) => g) ? weighted : [],
    grads,
  };
}

/**
 * scaledError over the elements that are finite in both; non-finite elements (NaN for an
 * out-of-range target, say) must be the same non-finite value in both, else the error is ∞.
 */
export function parityError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  const a = new Float64Array(got.length);
  const b = new Float64Array(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isFinite(w) && Number.isFinite(g)) {
      a[i] = g;
      b[i] = w;
    } else if (!(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)))) {
      return Number.POSITIVE_INFINITY;
    }
  }
  return scaledError(a, b);
}

function label(c: { op: string; name: string }): string {
  return `${c.op} [${c.name}]`;
}

/**
 * Compiles one function that runs every case on stand-ins of its inputs (and, where the case has
 * gradients, calls backward on Σ out·w with the reference's weights w) and returns the outputs
 * followed by the gradients, case after case.
 */
function program(cases: Case[], expected: Expected[]) {
  return compile((a: Record<string, Tensor>) => {
    const out: Tensor[] = [];
    cases.forEach((c, i) => {
      const e = expected[i];
      const xs = c.inputs.map((_, j) => a[`c${i}_x${j}`]);
      c.inputs.forEach((s, j) => {
        xs[j].requiresGrad = wantsGrad(c, s);
      });
      const o = asList(c.fn(...xs));
      out.push(...o);
      if (c.keepInputs) out.push(...xs);
      if (e.weighted.length) {
        let loss: Tensor | null = null;
        for (const { k } of e.weighted) {
          const term = sum(mul(o[k], a[`c${i}_w${k}`]));
          loss = loss ? add(loss, term) : term;
        }
        backward(loss!);
      }
      e.grads.forEach((g, j) => {
        if (!g) return;
        const got = xs[j].grad;
        if (!got) throw new Error(`${label(c)}: the compiled step gave no gradient for input ${j}`);
        // Detached from the stand-in: compile disposes the stand-ins, and a tensor's dispose
        // takes its .grad with it.
        xs[j].grad = null;
        out.push(got);
      });
    });
    return out;
  });
}

async function runCompiled(cases: Case[], expected: Expected[]): Promise<Float64Array[]> {
  const { onnx } = await parityDevices();
  const args: Record<string, Tensor> = {};
  cases.forEach((c, i) => {
    const e = expected[i];
    c.inputs.forEach((s, j) => {
      args[`c${i}_x${j}`] = onnx.tensor(e.data[j], s.shape, s.dtype ?? "f32");
    });
    for (const { k, w } of e.weighted) args[`c${i}_w${k}`] = onnx.tensor(w, e.shapes[k]);
  });
  const results = await program(cases, expected)(args);
  return Promise.all(results.map(async (t) => Float64Array.from(await t.toArray())));
}

/**
 * Checks every case against the float64 reference, all of them in one compiled program. When
 * that program fails to build or run, each case is compiled alone so that the error names the
 * case that broke it.
 */
export async function checkCases(cases: Case[], seed = 1): Promise<void> {
  const expected: Expected[] = [];
  for (const [i, c] of cases.entries()) {
    try {
      expected.push(await reference(c, seed + 101 * i));
    } catch (err) {
      throw new Error(`${label(c)}: the reference failed: ${(err as Error).message}`);
    }
  }
  let got: Float64Array[];
  try {
    got = await runCompiled(cases, expected);
  } catch (err) {
    for (const [i, c] of cases.entries()) {
      try {
        await runCompiled([c], [expected[i]]);
      } catch (one) {
        console.error(one);
        throw new Error(`${label(c)}: compiling or running failed: ${(one as Error).message}`);
      }
    }
    throw err;
  }
  let at = 0;
  cases.forEach((c, i) => {
    const e = expected[i];
    const tol = c.tol ?? 1e-4;
    e.outs.forEach((want, k) => {
      const err = parityError(got[at++], want);
      assert.ok(
        err <= tol,
        `${label(c)}: output ${k} ${e.dtypes[k]} ${fmt(e.shapes[k])} differs from the f64 reference by ${err.toExponential(2)} > ${tol}`,
      );
    });
    if (c.keepInputs) at += c.inputs.length;
    e.grads.forEach((want, j) => {
      if (!want) return;
      const err = parityError(got[at++], want);
      assert.ok(
        err <= tol,
        `${label(c)}: gradient of input ${j} ${fmt(c.inputs[j].shape)} differs from the f64 reference by ${err.toExponential(2)} > ${tol}`,
      );
    });
  });
  assert.equal(at, got.length, "every compiled result was compared");
}

/** A tensor's initial values: f32 unless said. */
export interface Values {
  shape: number[];
  data: number[];
  dtype?: "f32" | "i32";
}

/**
 * A case of an in-place training op. `state` tensors exist before the step (on each device, from
 * the same values); `step` runs the op on them and the step's arguments and may return tensors.
 * The step runs `calls` times (default 2, so that state carried between compiled calls is
 * checked too): eagerly on the reference, compiled on the onnx device.
 */
export interface StateCase {
  op: string;
  name: string;
  state: Values[];
  args?: Values[];
  /** Arguments that change from call to call (same shapes on every call); replaces `args`. */
  argsAt?: (call: number) => Values[];
  step: (state: Tensor[], args: Tensor[]) => Tensor[] | undefined;
  calls?: number;
  /**
   * Dynamic scalars of the compiled step and their values on call i; the step reads the same
   * values through `callIndex()`, as attributes on the reference.
   */
  dynamic?: string[];
  scalarsAt?: (call: number) => Record<string, number>;
  tol?: number;
}

/** The call number the step is on; the reference's step reads its scalars through it. */
let currentCall = 0;
export function callIndex(): number {
  return currentCall;
}

const upload = (d: Device, v: Values) => d.tensor(v.data, v.shape, v.dtype ?? "f32");

async function readAll(ts: Tensor[]): Promise<Float64Array[]> {
  return Promise.all(ts.map(async (t) => Float64Array.from(await t.toArray())));
}

/** Runs a state case on the reference and compiled; compares the state and returns after every call. */
export async function checkStateCase(c: StateCase): Promise<void> {
  const { ref, onnx } = await parityDevices();
  const calls = c.calls ?? 2;
  const tol = c.tol ?? 1e-4;
  const refState = c.state.map((v) => upload(ref, v));
  const state = c.state.map((v) => upload(onnx, v));
  const made = new Map<number, Values[]>();
  const argsAt = (call: number): Values[] => {
    if (!made.has(call)) made.set(call, c.argsAt?.(call) ?? c.args ?? []);
    return made.get(call)!;
  };
  const compiled = compile(
    (a: Record<string, Tensor>) =>
      c.step(
        state,
        argsAt(0).map((_, i) => a[`a${i}`]),
      ),
    { device: onnx, dynamic: c.dynamic },
  );
  for (let call = 0; call < calls; call++) {
    currentCall = call;
    const refArgs = argsAt(call).map((v) => upload(ref, v));
    const argMap = Object.fromEntries(argsAt(call).map((v, i) => [`a${i}`, upload(onnx, v)]));
    const want = await readAll(tidy(() => c.step(refState, refArgs)) ?? []);
    let got: Float64Array[];
    try {
      got = await readAll((await compiled(argMap, c.scalarsAt?.(call))) ?? []);
    } catch (err) {
      throw new Error(`${label(c)}: compiling or running failed: ${(err as Error).message}`);
    }
    want.forEach((w, k) => {
      const err = parityError(got[k], w);
      assert.ok(
        err <= tol,
        `${label(c)}: call ${call}: returned tensor ${k} differs from the f64 reference by ${err.toExponential(2)} > ${tol} (got ${Array.from(got[k].slice(0, 6))}, want ${Array.from(w.slice(0, 6))})`,
      );
    });
    const [gotState, wantState] = [await readAll(state), await readAll(refState)];
    wantState.forEach((w, k) => {
      const err = parityError(gotState[k], w);
      assert.ok(
        err <= tol,
        `${label(c)}: call ${call}: state ${k} ${fmt(c.state[k].shape)} differs from the f64 reference by ${err.toExponential(2)} > ${tol} (got ${Array.from(gotState[k].slice(0, 6))}, want ${Array.from(w.slice(0, 6))})`,
      );
    });
  }
}
