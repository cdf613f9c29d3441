/**
 * Shared checks for op tests: every op's forward and gradient on each test device against the
 * float64 CPU reference, whose own analytic gradient is checked by central finite differences.
 */
import assert from "node:assert/strict";
import { createDevice, type Device } from "../devices.ts";
import { backward } from "../tensor/autograd.ts";
import { type DType, roundF16 } from "../tensor/dtype.ts";
import { tidy } from "../tensor/engine.ts";
import { add, mul } from "../tensor/ops/elementwise.ts";
import { sum } from "../tensor/ops/reduce.ts";
import { fmt, numel, type Shape } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Rng } from "../util/rng.ts";

export interface TestDevice {
  name: string;
  device: Device;
  /** dtype used for float inputs on this device. */
  float: DType;
}

let cached: Promise<TestDevice[]> | null = null;
let refCached: Promise<Device> | null = null;

/**
 * Devices the op suite runs on: the CPU in float32, WebGPU in f32, and WebGPU in f16 where the
 * adapter has it. Set ZOETROPE_TEST_WEBGPU=0 to skip WebGPU (it is required otherwise: a missing
 * adapter fails the suite, so that CI cannot silently skip the WGSL kernels).
 */
export function testDevices(): Promise<TestDevice[]> {
  cached ??= (async () => {
    const out: TestDevice[] = [
      { name: "cpu-f32", device: await createDevice({ kind: "cpu" }), float: "f32" },
    ];
    if (process.env.ZOETROPE_TEST_WEBGPU !== "0") {
      const gpu = await createDevice({ kind: "webgpu" });
      out.push({ name: "webgpu-f32", device: gpu, float: "f32" });
      if (gpu.supportsF16) out.push({ name: "webgpu-f16", device: gpu, float: "f16" });
    }
    return out;
  })();
  return cached;
}

/** The float64 CPU reference device. */
export function referenceDevice(): Promise<Device> {
  refCached ??= createDevice({ kind: "cpu", precision: "f64" });
  return refCached;
}

export interface InputSpec {
  shape: Shape;
  /** "i32" inputs are integers in [0, high); float inputs are drawn by `gen` or N(0,1). */
  dtype?: "float" | "i32";
  high?: number;
  gen?: (rng: Rng, i: number) => number;
  /** Whether a gradient is checked for this input (default: float inputs). */
  grad?: boolean;
}

export interface CheckOptions {
  seed?: number;
  /** Relative-to-scale tolerance of outputs and grads per float dtype. */
  tol?: Partial<Record<DType, number>>;
  /** Check gradients (default true). */
  grad?: boolean;
  /** Elements per input probed by finite differences (default 24). */
  fdSamples?: number;
  /** Tolerance of analytic vs finite-difference gradient on the f64 reference. */
  fdTol?: number;
  /** Skip some devices (e.g. an op without an f16 path). */
  skip?: (d: TestDevice) => boolean;
}

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

function asList(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

function makeInputs(specs: InputSpec[], rng: Rng): Float64Array[] {
  return specs.map((s) => {
    const a = new Float64Array(numel(s.shape));
    for (let i = 0; i < a.length; i++) {
      if (s.dtype === "i32") a[i] = rng.int(0, (s.high ?? 10) - 1);
      else a[i] = s.gen ? s.gen(rng, i) : rng.normal();
    }
    return a;
  });
}

/** The float64 reference and every distinct test device, each once. */
export async function allDevices(): Promise<{ name: string; device: Device }[]> {
  const ref = await referenceDevice();
  const seen = new Set<Device>();
  const out = [{ name: "cpu-f64", device: ref }];
  for (const d of await testDevices()) {
    if (seen.has(d.device)) continue;
    seen.add(d.device);
    out.push({ name: d.name, device: d.device });
  }
  return out;
}

/** Asserts |got[i] − want[i]| ≤ tol·(1 + |want[i]|) for every element; the message names `what` and the element. */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: got ${got[i]}, want ${want[i]}`,
    );
  }
}

/** Largest |a-b| divided by (largest |b| + 1): a scale-aware error. */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    num = Math.max(num, d);
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den + 1);
}

interface RunResult {
  outputs: Float64Array[];
  shapes: Shape[];
  grads: (Float64Array | null)[];
}

async function runOn(
  device: Device,
  float: DType,
  fn: Fn,
  specs: InputSpec[],
  data: Float64Array[],
  weights: Float64Array[] | null,
  wantGrad: boolean,
): Promise<RunResult> {
  const ins = specs.map((s, i) =>
    device.tensor(data[i], s.shape, s.dtype === "i32" ? "i32" : float),
  );
  const gradOf = specs.map((s) => wantGrad && s.dtype !== "i32" && s.grad !== false);
  ins.forEach((t, i) => {
    t.requiresGrad = gradOf[i];
  });
  const outs = tidy(() => {
    const o = asList(fn(...ins));
    if (wantGrad && weights) {
      let loss: Tensor | null = null;
      o.forEach((t, k) => {
        if (!t.requiresGrad) return;
        const w = device.tensor(weights[k].subarray(0, t.size), t.shape, t.dtype);
        const term = sum(mul(t, w));
        loss = loss ? add(loss, term) : term;
      });
      if (loss) backward(loss);
    }
    return o;
  });
  const outputs = await Promise.all(outs.map(async (t) => Float64Array.from(await t.toArray())));
  const grads = await Promise.all(
    ins.map(async (t) => (t.grad ? Float64Array.from(await t.grad.toArray()) : null)),
  );
  const shapes = outs.map((t) => t.shape);
  for (const t of [...ins, ...outs]) t.dispose();
  return { outputs, shapes, grads };
}

/**
 * Checks `fn` on fresh random inputs: the f64 reference's analytic gradient against central
 * finite differences, then every test device's outputs and gradients against the reference.
 */
export async function checkOp(
  name: string,
  specs: InputSpec[],
  fn: Fn,
  options: CheckOptions = {},
): Promise<void> {
  const rng = new Rng(options.seed ?? 1234);
  const data = makeInputs(specs, rng);
  const wantGrad = options.grad ?? true;
  const ref = await referenceDevice();
  // Fixed random weights turn any outputs into one scalar loss: L = Σ_k Σ out_k · w_k.
  const probe = await runOn(ref, "f32", fn, specs, data, null, false);
  const weights = probe.outputs.map((o) => {
    const w = new Float64Array(o.length);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal();
    return w;
  });
  const expected = await runOn(ref, "f32", fn, specs, data, weights, wantGrad);
  if (wantGrad)
    await checkFiniteDifferences(name, ref, fn, specs, data, weights, expected, options, rng);
  const tol = { f32: 2e-4, f16: 2e-2, i32: 0, ...options.tol };
  for (const td of await testDevices()) {
    if (options.skip?.(td)) continue;
    const got = await runOn(
      td.device,
      td.float,
      fn,
      specs,
      td.float === "f16" ? data.map(roundHalf) : data,
      weights,
      wantGrad,
    );
    const t = tol[td.float];
    got.outputs.forEach((o, k) => {
      assert.deepEqual(
        got.shapes[k],
        expected.shapes[k],
        `${name} on ${td.name}: output ${k} shape`,
      );
      const e = scaledError(o, expected.outputs[k]);
      assert.ok(
        e <= t,
        `${name} on ${td.name}: output ${k} ${fmt(got.shapes[k])} differs from the f64 reference by ${e.toExponential(2)} > ${t}`,
      );
    });
    got.grads.forEach((g, i) => {
      const want = expected.grads[i];
      if (!want) return;
      assert.ok(g, `${name} on ${td.name}: no gradient for input ${i}`);
      const e = scaledError(g, want);
      assert.ok(
        e <= t * 2,
        `${name} on ${td.name}: gradient of input ${i} ${fmt(specs[i].shape)} differs from the f64 reference by ${e.toExponential(2)} > ${t * 2}`,
      );
    });
  }
}

/** f16 devices round their inputs; the reference sees the same rounded values' error budget via tol. */
function roundHalf(a: Float64Array): Float64Array {
  return a.map(roundF16);
}

async function checkFiniteDifferences(
  name: string,
  ref: Device,
  fn: Fn,
  specs: InputSpec[],
  data: Float64Array[],
  weights: Float64Array[],
  expected: RunResult,
  options: CheckOptions,
  rng: Rng,
): Promise<void> {
  const eps = 1e-6;
  const samples = options.fdSamples ?? 24;
  const lossAt = async (d: Float64Array[]) => {
    const r = await runOn(ref, "f32", fn, specs, d, null, false);
    let l = 0;
    r.outputs.forEach((o, k) => {
      for (let i = 0; i < o.length; i++) l += o[i] * weights[k][i];
    });
    return l;
  };
  for (let i = 0; i < specs.length; i++) {
    const analytic = expected.grads[i];
    if (!analytic) continue;
    const n = data[i].length;
    const picks =
      n <= samples
        ? [...Array(n).keys()]
        : Array.from({ length: samples }, () => rng.int(0, n - 1));
    let maxErr = 0;
    let scale = 0;
    for (const j of picks) {
      const plus = data.map((a) => a.slice());
      const minus = data.map((a) => a.slice());
      plus[i][j] += eps;
      minus[i][j] -= eps;
      const fd = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
      maxErr = Math.max(maxErr, Math.abs(fd - analytic[j]));
      scale = Math.max(scale, Math.abs(fd));
    }
    const rel = maxErr / (scale + 1);
    assert.ok(
      rel <= (options.fdTol ?? 1e-5),
      `${name}: f64 gradient of input ${i} ${fmt(specs[i].shape)} disagrees with finite differences by ${rel.toExponential(2)}`,
    );
  }
}
