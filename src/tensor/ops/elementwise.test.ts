import { describe, it } from "node:test";
import { checkOp } from "../../testing/op-check.ts";
import type { Rng } from "../../util/rng.ts";
import { affine, BINARY_FNS, binary, cast, expand, UNARY_FNS, unary } from "./elementwise.ts";
import { max, mean, sum } from "./reduce.ts";
import { reshape } from "./shape.ts";

// Inputs kept away from the singular and non-smooth points of each function.
const DOMAIN: Partial<Record<string, (r: Rng) => number>> = {
  log: (r) => r.uniform(0.2, 3),
  sqrt: (r) => r.uniform(0.2, 3),
  rsqrt: (r) => r.uniform(0.2, 3),
  recip: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.3, 3),
  abs: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.05, 3),
  relu: (r) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.05, 3),
};

describe("unary ops", () => {
  for (const fn of UNARY_FNS) {
    if (fn === "notfinite") continue;
    it(`${fn} forward and gradient at 37×53`, async () => {
      const gen = DOMAIN[fn];
      await checkOp(
        fn,
        [{ shape: [37, 53], gen: gen ? (r) => gen(r) : undefined }],
        (x) => (fn === "affine" ? affine(x, -1.5, 0.25) : unary(x, fn)),
        {
          tol: { f16: fn === "exp" ? 4e-2 : 2e-2 },
        },
      );
    });
  }
});

describe("binary ops with broadcasting", () => {
  for (const fn of BINARY_FNS) {
    it(`${fn}: [7,1,53] with [5,1] and equal shapes`, async () => {
      const cmp = ["gt", "ge", "lt", "eq"].includes(fn);
      // Comparisons and max/min are discontinuous: draw values exact in f16 (quarters in [-2, 2],
      // with ties) so every device compares the same numbers.
      const exact = cmp || fn === "max" || fn === "min" ? (r: Rng) => r.int(-8, 8) / 4 : undefined;
      const gen = fn === "div" ? (r: Rng) => (r.chance(0.5) ? 1 : -1) * r.uniform(0.5, 2) : exact;
      await checkOp(
        fn,
        [
          { shape: [7, 1, 53], gen: exact },
          { shape: [5, 1], gen },
        ],
        (a, b) => binary(a, b, fn),
        { grad: !cmp, fdSamples: exact ? 0 : 24 },
      );
      if (fn === "max" || fn === "min") {
        // Away from ties the gradient is smooth: check it against finite differences (not in f16,
        // whose rounding makes near-ties flip).
        await checkOp(fn, [{ shape: [7, 1, 53] }, { shape: [5, 1] }], (a, b) => binary(a, b, fn), {
          skip: (d) => d.float === "f16",
        });
      }
      await checkOp(
        fn,
        [
          { shape: [37, 53], gen: exact },
          { shape: [37, 53], gen },
        ],
        (a, b) => binary(a, b, fn),
        { grad: !cmp, fdSamples: exact ? 0 : 24 },
      );
    });
  }
});

describe("reductions, expand, cast, reshape", () => {
  it("sum/mean/max over axes of a [3,37,5,11] tensor", async () => {
    for (const axes of [[1], [0, 2], [3], [0, 1, 2, 3]]) {
      await checkOp(`sum ${axes}`, [{ shape: [3, 37, 5, 11] }], (x) => sum(x, axes));
      await checkOp(`mean ${axes}`, [{ shape: [3, 37, 5, 11] }], (x) => mean(x, axes, true));
      await checkOp(`max ${axes}`, [{ shape: [3, 37, 5, 11] }], (x) => max(x, axes));
    }
  });
  it("expand [37,1,3] to [2,37,53,3]", async () => {
    await checkOp("expand", [{ shape: [37, 1, 3] }], (x) => expand(x, [2, 37, 53, 3]));
  });
  it("reshape is a view whose gradient flows back", async () => {
    await checkOp("reshape", [{ shape: [6, 35] }], (x) => affine(reshape(x, [5, -1, 6]), 2));
  });
  it("cast f32 → i32 truncates toward zero", async () => {
    await checkOp(
      "cast",
      [{ shape: [41], gen: (r) => r.uniform(-50, 50) }],
      (x) => cast(cast(x, "i32"), x.dtype),
      { grad: false, tol: { f16: 0.05 } },
    );
  });
});
