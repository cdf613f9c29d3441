import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { WebGpuBackend } from "../../gpu/backend.ts";
import { fusedSource } from "../../gpu/kernels/fused.ts";
import { checkOp, type InputSpec, scaledError, testDevices } from "../../testing/op-check.ts";
import { Rng } from "../../util/rng.ts";
import { tidy } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import {
  add,
  affine,
  BINARY_FNS,
  binary,
  exp,
  mul,
  sigmoid,
  sub,
  tanh,
  UNARY_FNS,
  type UnaryFn,
  unary,
} from "./elementwise.ts";
import { addScaled, type FusedProgram, fusedElementwise, gatedResidual, lerp } from "./fused.ts";

type Fn = (...xs: Tensor[]) => Tensor;

/** Runs the fused and the unfused form on every test device and compares them. */
async function expectSameAsUnfused(
  name: string,
  specs: InputSpec[],
  fused: Fn,
  unfused: Fn,
  seed = 99,
): Promise<void> {
  const rng = new Rng(seed);
  const data = specs.map((s) =>
    Array.from({ length: s.shape.reduce((p, d) => p * d, 1) }, (_, i) =>
      s.gen ? s.gen(rng, i) : rng.normal(),
    ),
  );
  for (const td of await testDevices()) {
    const [got, want] = await tidy(() => {
      const xs = specs.map((s, i) => td.device.tensor(data[i], s.shape, td.float));
      return [fused(...xs), unfused(...xs)];
    });
    assert.deepEqual([...got.shape], [...want.shape], `${name} on ${td.name}: shape`);
    const e = scaledError(await got.toArray(), await want.toArray());
    // f16: the unfused chain rounds every intermediate to half precision, the fused one does not.
    const tol = td.float === "f16" ? 2e-2 : 1e-5;
    assert.ok(e <= tol, `${name} on ${td.name}: fused differs from unfused by ${e} > ${tol}`);
    got.dispose();
    want.dispose();
  }
}

// Inputs kept away from singular and non-smooth points.
const DOMAIN: Partial<Record<UnaryFn, (r: Rng) => number>> = {
  log: (r) => r.uniform(0.2, 3),
  sqrt: (r) => r.uniform(0.2, 3),
  rsqrt: (r) => r.uniform(0.2, 3),
  recip: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.3, 3),
  abs: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.05, 3),
  relu: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.05, 3),
  sign: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.05, 3),
  step: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.05, 3),
};

describe("fused: every unary and binary function inside a fused chain", () => {
  for (const fn of UNARY_FNS) {
    it(`${fn}(x)·w + 0.5, x [7,1,13] with w [5,1]`, async () => {
      const gen = DOMAIN[fn];
      const specs: InputSpec[] = [
        { shape: [7, 1, 13], gen: gen && ((r) => gen(r)) },
        { shape: [5, 1] },
      ];
      const program: FusedProgram = [
        fn === "affine"
          ? { unary: fn, x: { input: 0 }, alpha: -1.5, beta: 0.25 }
          : { unary: fn, x: { input: 0 } },
        { binary: "mul", a: { step: 0 }, b: { input: 1 } },
        { binary: "add", a: { step: 1 }, b: 0.5 },
      ];
      const unfusedStep = (x: Tensor) => (fn === "affine" ? affine(x, -1.5, 0.25) : unary(x, fn));
      await expectSameAsUnfused(
        fn,
        specs,
        (x, w) => fusedElementwise([x, w], program),
        (x, w) => affine(mul(unfusedStep(x), w), 1, 0.5),
      );
      await checkOp(`fused ${fn}`, specs, (x, w) => fusedElementwise([x, w], program), {
        tol: { f16: fn === "exp" ? 4e-2 : 2e-2 },
        fdSamples: 12,
      });
    });
  }
  for (const fn of BINARY_FNS) {
    it(`2·${fn}(a, b) − 1 with a [7,1,13] and b [5,1]`, async () => {
      const cmp = ["gt", "ge", "lt", "eq", "max", "min"].includes(fn);
      // Discontinuous functions get values exact in f16 so every device compares the same numbers.
      const exact = cmp ? (r: Rng) => r.int(-8, 8) / 4 : undefined;
      const gen = fn === "div" ? (r: Rng) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.5, 2) : exact;
      const specs: InputSpec[] = [
        { shape: [7, 1, 13], gen: exact },
        { shape: [5, 1], gen },
      ];
      const program: FusedProgram = [
        { binary: fn, a: { input: 0 }, b: { input: 1 } },
        { unary: "affine", x: { step: 0 }, alpha: 2, beta: -1 },
      ];
      await expectSameAsUnfused(
        fn,
        specs,
        (a, b) => fusedElementwise([a, b], program),
        (a, b) => affine(binary(a, b, fn), 2, -1),
      );
      await checkOp(`fused ${fn}`, specs, (a, b) => fusedElementwise([a, b], program), {
        grad: !["gt", "ge", "lt", "eq"].includes(fn),
        fdSamples: cmp ? 0 : 12,
      });
    });
  }
});

describe("fused: ready programs and a long program", () => {
  it("addScaled at 37×53", async () => {
    const specs: InputSpec[] = [{ shape: [37, 53] }, { shape: [37, 53] }];
    await expectSameAsUnfused(
      "addScaled",
      specs,
      (a, b) => addScaled(a, b, -0.75),
      (a, b) => add(a, affine(b, -0.75)),
    );
    await checkOp("addScaled", specs, (a, b) => addScaled(a, b, -0.75));
  });

  it("gatedResidual with a [3,1,11] gate over [3,7,11]", async () => {
    const specs: InputSpec[] = [
      { shape: [3, 7, 11] },
      { shape: [3, 1, 11] },
      { shape: [3, 7, 11] },
    ];
    await expectSameAsUnfused("gatedResidual", specs, gatedResidual, (x, g, y) =>
      add(x, mul(g, y)),
    );
    await checkOp("gatedResidual", specs, gatedResidual);
  });

  it("lerp with a broadcast tensor t and with a number", async () => {
    const specs: InputSpec[] = [{ shape: [7, 13] }, { shape: [7, 13] }, { shape: [7, 1] }];
    await expectSameAsUnfused("lerp tensor", specs, lerp, (a, b, t) => add(a, mul(t, sub(b, a))));
    await checkOp("lerp tensor", specs, lerp);
    await expectSameAsUnfused(
      "lerp number",
      specs.slice(0, 2),
      (a, b) => lerp(a, b, 0.3),
      (a, b) => add(a, affine(sub(b, a), 0.3)),
    );
    await checkOp("lerp number", specs.slice(0, 2), (a, b) => lerp(a, b, 0.3));
  });

  it("four inputs (same shape, broadcast, scalar), reused values, constants and a dead step", async () => {
    const specs: InputSpec[] = [
      { shape: [3, 7, 11, 5] },
      { shape: [7, 1, 5] },
      { shape: [1] },
      { shape: [3, 7, 11, 5] },
    ];
    const program: FusedProgram = [
      { binary: "mul", a: { input: 0 }, b: { input: 1 } },
      { unary: "tanh", x: { step: 0 } },
      { unary: "affine", x: { step: 1 }, alpha: 1.5, beta: -0.25 },
      { binary: "mul", a: { step: 2 }, b: { step: 0 } },
      { unary: "neg", x: { input: 0 } },
      { unary: "exp", x: { input: 2 } },
      { binary: "sub", a: { step: 3 }, b: { step: 5 } },
      { unary: "sigmoid", x: { input: 3 } },
      { binary: "mul", a: { step: 6 }, b: { step: 7 } },
      { binary: "add", a: { step: 8 }, b: 0.1 },
    ];
    const fused = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) =>
      fusedElementwise([a, b, c, d], program);
    const unfused = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => {
      const r0 = mul(a, b);
      const r3 = mul(affine(tanh(r0), 1.5, -0.25), r0);
      return affine(mul(sub(r3, exp(c)), sigmoid(d)), 1, 0.1);
    };
    await expectSameAsUnfused("long program", specs, fused, unfused);
    await checkOp("long program", specs, fused);
  });

  it("a program whose last step ignores an input still has the broadcast output shape", async () => {
    const specs: InputSpec[] = [{ shape: [5, 1] }, { shape: [1, 6] }];
    const program: FusedProgram = [
      { unary: "square", x: { input: 1 } },
      { unary: "sin", x: { input: 0 } },
    ];
    await checkOp("dead input branch", specs, (a, b) => fusedElementwise([a, b], program));
  });
});

describe("fused: one kernel, cached by program structure", () => {
  it("runs a chain as a single dispatch on WebGPU", async () => {
    const gpu = (await testDevices()).find((d) => d.name === "webgpu-f32");
    assert.ok(gpu, "the suite runs WebGPU (ZOETROPE_TEST_WEBGPU=0 skips it)");
    const backend = gpu.device.backend as WebGpuBackend;
    const x = gpu.device.zeros([3, 7, 11]);
    const g = gpu.device.zeros([3, 1, 11]);
    const before = backend.stats.dispatches;
    const y = gatedResidual(x, g, x);
    assert.equal(backend.stats.dispatches - before, 1);
    for (const t of [x, g, y]) t.dispose();
  });

  it("constants change the uniforms, not the WGSL source", async () => {
    const program = (alpha: number): FusedProgram => [
      { binary: "mul", a: { input: 1 }, b: alpha },
      { binary: "add", a: { input: 0 }, b: { step: 0 } },
    ];
    const two = fusedSource({ steps: program(2) }, "f32", ["same", "bcast"]);
    const three = fusedSource({ steps: program(3) }, "f32", ["same", "bcast"]);
    assert.equal(two.code, three.code);
    assert.deepEqual(two.constants, [2]);
    assert.deepEqual(three.constants, [3]);
    for (const td of await testDevices()) {
      const a = td.device.tensor([1, 2], [2], td.float);
      const b = td.device.tensor([10, 20], [2], td.float);
      assert.deepEqual([...(await addScaled(a, b, 2).toArray())], [21, 42], td.name);
      assert.deepEqual([...(await addScaled(a, b, -0.5).toArray())], [-4, -8], td.name);
    }
  });
});

describe("fused: bad inputs", () => {
  it("rejects bad programs, shapes and dtypes with messages naming the problem", async () => {
    const [{ device }] = await testDevices();
    const a = device.zeros([4, 3]);
    const one: FusedProgram = [{ unary: "exp", x: { input: 0 } }];
    assert.throws(
      () =>
        fusedElementwise(
          [a, device.zeros([2, 3])],
          [{ binary: "add", a: { input: 0 }, b: { input: 1 } }],
        ),
      /fused: shapes \[4, 3\] and \[2, 3\] do not broadcast/,
    );
    assert.throws(
      () =>
        fusedElementwise(
          [a, device.zeros([4, 3], "f16")],
          [{ binary: "add", a: { input: 0 }, b: { input: 1 } }],
        ),
      /fused: dtypes differ: f32 \[4, 3\] and f16 \[4, 3\]/,
    );
    assert.throws(
      () => fusedElementwise([device.zeros([4], "i32")], one),
      /fused: needs float tensors, got i32 \[4\]/,
    );
    assert.throws(
      () => fusedElementwise([a, a, a, a, a], one),
      /fused: 5 inputs exceed the limit of 4/,
    );
    assert.throws(() => fusedElementwise([a], []), /fused: the program needs at least one step/);
    assert.throws(
      () => fusedElementwise([a], [{ unary: "exp", x: { step: 0 } }]),
      /fused: step 0 reads step 0, which is not an earlier step/,
    );
    assert.throws(
      () => fusedElementwise([a], [{ unary: "exp", x: { input: 1 } }]),
      /fused: step 0 reads input 1 but the op has 1 inputs/,
    );
    assert.throws(
      () => fusedElementwise([a], [{ unary: "cube" as UnaryFn, x: { input: 0 } }]),
      /fused: step 0 has unknown unary function "cube"/,
    );
    assert.throws(() => fusedElementwise([a, a], one), /fused: input 1 is not used by the program/);
    assert.throws(() => fusedElementwise([], one), /fused: needs at least one input tensor/);
  });
});
