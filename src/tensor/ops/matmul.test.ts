import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, checkOp, testDevices } from "../../testing/op-check.ts";
import { backward } from "../autograd.ts";
import { onOpCall, tidy } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { linear, matmul } from "./matmul.ts";
import { sum } from "./reduce.ts";

const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

/** Stored shape of an operand whose last two dims are [rows, cols] when used, given its transpose. */
function stored(batch: number[], rows: number, cols: number, trans: boolean): number[] {
  return trans ? [...batch, cols, rows] : [...batch, rows, cols];
}

describe("matmul against the f64 reference on every device", () => {
  it("37×53 @ 53×29", async () => {
    await checkOp("matmul 37x53x29", [{ shape: [37, 53] }, { shape: [53, 29] }], (a, b) =>
      matmul(a, b),
    );
  });

  it("batched [3,17,23] @ [3,23,19] and [3,17,23] @ shared [23,19]", async () => {
    await checkOp("matmul batched", [{ shape: [3, 17, 23] }, { shape: [3, 23, 19] }], (a, b) =>
      matmul(a, b),
    );
    await checkOp("matmul shared b", [{ shape: [3, 17, 23] }, { shape: [23, 19] }], (a, b) =>
      matmul(a, b),
    );
  });

  it("broadcast batch dims on both sides: [2,1,17,23] @ [3,23,19] and [17,23] @ [3,23,19]", async () => {
    await checkOp("matmul broadcast", [{ shape: [2, 1, 17, 23] }, { shape: [3, 23, 19] }], (a, b) =>
      matmul(a, b),
    );
    await checkOp("matmul shared a", [{ shape: [17, 23] }, { shape: [3, 23, 19] }], (a, b) =>
      matmul(a, b),
    );
    // Five batch dims broadcasting in alternation (merged where possible by the WGSL launcher).
    await checkOp(
      "matmul rank-7 broadcast",
      [{ shape: [2, 1, 3, 1, 2, 5, 4] }, { shape: [2, 3, 2, 1, 4, 6] }],
      (a, b) => matmul(a, b),
    );
  });

  for (const [transA, transB] of TRANSPOSES) {
    it(`transA=${transA} transB=${transB}, batched and with a shared b`, async () => {
      const name = `matmul transA=${transA} transB=${transB}`;
      await checkOp(
        `${name} batched`,
        [{ shape: stored([3], 17, 23, transA) }, { shape: stored([3], 23, 19, transB) }],
        (a, b) => matmul(a, b, { transA, transB }),
      );
      await checkOp(
        `${name} shared b`,
        [{ shape: stored([2, 3], 17, 23, transA) }, { shape: stored([], 23, 19, transB) }],
        (a, b) => matmul(a, b, { transA, transB }),
      );
    });
  }

  it("fused bias + GELU and bias + SiLU epilogues (with transposes and broadcasting)", async () => {
    await checkOp(
      "matmul bias gelu",
      [{ shape: [2, 17, 23] }, { shape: [23, 19] }, { shape: [19] }],
      (a, b, bias) => matmul(a, b, { bias, act: "gelu" }),
    );
    await checkOp(
      "matmul bias silu transposed",
      [{ shape: [2, 1, 23, 17] }, { shape: [3, 19, 23] }, { shape: [19] }],
      (a, b, bias) => matmul(a, b, { bias, act: "silu", transA: true, transB: true }),
    );
    await checkOp("matmul gelu no bias", [{ shape: [17, 23] }, { shape: [23, 19] }], (a, b) =>
      matmul(a, b, { act: "gelu" }),
    );
    await checkOp(
      "matmul bias only",
      [{ shape: [17, 23] }, { shape: [19, 23] }, { shape: [19] }],
      (a, b, bias) => matmul(a, b, { bias, transB: true }),
    );
  });

  it("linear: x [2,5,23] with weight [19,23], bias and SiLU; and a 1-D x", async () => {
    await checkOp(
      "linear",
      [{ shape: [2, 5, 23] }, { shape: [19, 23] }, { shape: [19] }],
      (x, w, b) => linear(x, w, b, "silu"),
    );
    await checkOp("linear 1-D", [{ shape: [23] }, { shape: [19, 23] }], (x, w) => linear(x, w));
  });

  it("65×130 @ 130×67 crosses partial tiles in M, N and K (webgpu included)", async () => {
    const devices = (await testDevices()).map((d) => d.name);
    if (process.env.ZOETROPE_TEST_WEBGPU !== "0") assert.ok(devices.includes("webgpu-f32"));
    await checkOp("matmul 65x130x67", [{ shape: [65, 130] }, { shape: [130, 67] }], (a, b) =>
      matmul(a, b),
    );
    await checkOp(
      "matmul 65x130x67 transposed",
      [{ shape: [130, 65] }, { shape: [67, 130] }],
      (a, b) => matmul(a, b, { transA: true, transB: true }),
      { grad: false },
    );
  });
});

describe("matmul hand-computed values", () => {
  const A = [1, 2, 3, 4];
  const B = [5, 6, 7, 8];

  it("products, transposes, bias and activations", async () => {
    for (const { name, device, float } of await testDevices()) {
      const tol = float === "f16" ? 2e-3 : 1e-6;
      const a = device.tensor(A, [2, 2], float);
      const b = device.tensor(B, [2, 2], float);
      const bias = device.tensor([10, 20], [2], float);
      const cases: [string, () => ReturnType<typeof matmul>, number[]][] = [
        ["a·b", () => matmul(a, b), [19, 22, 43, 50]],
        ["aᵀ·b", () => matmul(a, b, { transA: true }), [26, 30, 38, 44]],
        ["a·bᵀ", () => matmul(a, b, { transB: true }), [17, 23, 39, 53]],
        ["aᵀ·bᵀ", () => matmul(a, b, { transA: true, transB: true }), [23, 31, 34, 46]],
        ["a·b + bias", () => matmul(a, b, { bias }), [29, 42, 53, 70]],
      ];
      for (const [what, fn, want] of cases)
        assertClose(await fn().toArray(), want, tol, `${name} ${what}`);
      // z = [0.5, -1, 2.5] from a one-row a picking rows of b.
      const x = device.tensor([1, 0], [1, 2], float);
      const w = device.tensor([0.5, -1, 2, 0, 0, 0], [2, 3], float);
      const c = device.tensor([0, 0, 0.5], [3], float);
      assertClose(
        await matmul(x, w, { bias: c, act: "gelu" }).toArray(),
        [0.345714, -0.158808, 2.484916],
        tol,
        `${name} gelu epilogue`,
      );
      assertClose(
        await matmul(x, w, { bias: c, act: "silu" }).toArray(),
        [0.31123, -0.268941, 2.310355],
        tol,
        `${name} silu epilogue`,
      );
    }
  });

  it("gradients of sum(a·b + bias): row sums of b, column sums of a, and M for the bias", async () => {
    for (const { name, device, float } of await testDevices()) {
      const a = device.tensor(A, [2, 2], float);
      const b = device.tensor(B, [2, 2], float);
      const bias = device.tensor([10, 20], [2], float);
      for (const t of [a, b, bias]) t.requiresGrad = true;
      tidy(() => backward(sum(matmul(a, b, { bias }))));
      assertClose(await a.grad!.toArray(), [11, 15, 11, 15], 1e-6, `${name} dA`);
      assertClose(await b.grad!.toArray(), [4, 4, 6, 6], 1e-6, `${name} dB`);
      assertClose(await bias.grad!.toArray(), [2, 2], 1e-6, `${name} dBias`);
    }
  });

  it("saves the pre-activation only when autograd needs it", async () => {
    const { device } = (await testDevices())[0];
    const a = device.tensor(A, [2, 2]);
    const b = device.tensor(B, [2, 2]);
    const outputs: number[] = [];
    const stop = onOpCall((call) => {
      if (call.op === "matmul") outputs.push(call.outputs.length);
    });
    try {
      matmul(a, b, { act: "gelu" });
      b.requiresGrad = true;
      matmul(a, b, { act: "gelu" });
      matmul(a, b);
    } finally {
      stop();
    }
    assert.deepEqual(outputs, [1, 2, 1]);
  });
});

describe("matmul bad inputs", () => {
  it("names the op, both shapes and the transposes", async () => {
    const { device } = (await testDevices())[0];
    const t = (shape: number[]) => device.zeros(shape);
    assert.throws(
      () => matmul(t([3, 5]), t([4, 7])),
      (e: Error) =>
        e instanceof ShapeError &&
        /^matmul: inner dimensions differ \(5 vs 4\): a \[3, 5\] and b \[4, 7\]$/.test(e.message),
    );
    assert.throws(
      () => matmul(t([5, 3]), t([4, 7]), { transA: true, transB: true }),
      /matmul: inner dimensions differ \(5 vs 7\): a \[5, 3\] \(transposed\) and b \[4, 7\] \(transposed\)/,
    );
    assert.throws(
      () => matmul(t([2, 3, 5]), t([4, 5, 7])),
      /matmul: batch dimensions do not broadcast \(2 vs 4\): a \[2, 3, 5\] and b \[4, 5, 7\]/,
    );
    assert.throws(
      () => matmul(t([5]), t([5, 7])),
      /matmul: both operands need at least 2 dimensions: a \[5\] and b \[5, 7\]/,
    );
    assert.throws(
      () => matmul(t([3, 5]), t([5, 7]), { bias: t([6]) }),
      /matmul: bias \[6\] must be \[7\], the output's last dimension \(a \[3, 5\], b \[5, 7\]\)/,
    );
    assert.throws(
      () => matmul(t([3, 5]), t([5, 7]), { act: "relu" as "gelu" }),
      /matmul: unknown activation "relu"/,
    );
  });

  it("rejects mixed and integer dtypes", async () => {
    const { device } = (await testDevices())[0];
    assert.throws(
      () => matmul(device.zeros([3, 5]), device.zeros([5, 7], "f16")),
      (e: Error) =>
        e instanceof DTypeError &&
        /matmul: dtypes differ: a f32 \[3, 5\] and b f16 \[5, 7\]/.test(e.message),
    );
    assert.throws(
      () => matmul(device.zeros([3, 5], "i32"), device.zeros([5, 7], "i32")),
      /matmul: a must be a float tensor, got i32 \[3, 5\]/,
    );
  });

  it("linear checks the weight layout and the feature count", async () => {
    const { device } = (await testDevices())[0];
    assert.throws(
      () => linear(device.zeros([4, 5]), device.zeros([2, 7, 5])),
      /linear: weight must be \[out, in\], got \[2, 7, 5\] \(x \[4, 5\]\)/,
    );
    assert.throws(
      () => linear(device.zeros([4, 5]), device.zeros([7, 6])),
      /linear: x \[4, 5\] has 5 input features but weight \[7, 6\] expects 6/,
    );
  });
});
