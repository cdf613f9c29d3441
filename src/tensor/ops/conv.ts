/**
 * 3D convolution over [N, C, T, H, W] video tensors (stride, zero padding per side, so causal in
 * time with padding [[kT-1, 0], ...]), its two backward ops, and nearest upsampling.
 *
 * The backward ops are ops of their own (each an implicit GEMM on WebGPU) and are themselves
 * differentiable: they are linear in both operands, and their gradients are the other two of
 * the three convolution ops, so second derivatives and direct gradient checks work.
 */
import { isFloat } from "../dtype.ts";
import { run1 } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { fmt } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./shape.ts";

export type Triple = [number, number, number];
export type Padding3 = [[number, number], [number, number], [number, number]];

export interface ConvGeometry {
  stride: Triple;
  /** Zero padding before and after, for t, h and w. */
  padding: Padding3;
}

export interface Conv3dAttrs extends ConvGeometry {
  hasBias: boolean;
}

export interface ConvBackwardInputAttrs extends ConvGeometry {
  /** Spatial size [T, H, W] of the convolution's input (the gradient's shape). */
  inputSize: Triple;
}

export interface ConvBackwardWeightAttrs extends ConvGeometry {
  /** Kernel size [kT, kH, kW] (the gradient's shape). */
  kernel: Triple;
}

export interface Conv3dOptions {
  stride?: Triple;
  padding?: Padding3;
}

const AXES = ["t", "h", "w"];

function checkGeometry(op: string, g: ConvGeometry): void {
  if (!Array.isArray(g.stride) || g.stride.length !== 3) {
    throw new ShapeError(`${op}: stride must be [st, sh, sw], got ${JSON.stringify(g.stride)}`);
  }
  for (const s of g.stride) {
    if (!Number.isInteger(s) || s < 1) {
      throw new ShapeError(`${op}: strides must be positive integers, got ${fmt(g.stride)}`);
    }
  }
  const ok =
    Array.isArray(g.padding) &&
    g.padding.length === 3 &&
    g.padding.every(
      (p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0),
    );
  if (!ok) {
    throw new ShapeError(
      `${op}: padding must be [[t0, t1], [h0, h1], [w0, w1]] of non-negative integers, got ${JSON.stringify(g.padding)}`,
    );
  }
}

/** Output size of one axis, or -1 when the kernel is larger than the padded input. */
function outSize(size: number, k: number, s: number, pad: [number, number]): number {
  const padded = size + pad[0] + pad[1];
  return padded < k ? -1 : Math.floor((padded - k) / s) + 1;
}

/** Output spatial size of a convolution; the error names the op and both shapes. */
export function convOutputSize(
  op: string,
  input: Triple,
  kernel: Triple,
  g: ConvGeometry,
  shapes: string,
): Triple {
  const out = input.map((n, i) => outSize(n, kernel[i], g.stride[i], g.padding[i])) as Triple;
  const bad = out.findIndex((o) => o < 1);
  if (bad >= 0) {
    const padded = input.map((n, i) => n + g.padding[i][0] + g.padding[i][1]);
    throw new ShapeError(
      `${op}: kernel ${kernel.join("×")} is larger than the padded input ${padded.join("×")} along ${AXES[bad]} (${shapes}, padding ${JSON.stringify(g.padding)})`,
    );
  }
  return out;
}

function rank5(op: string, name: string, m: Meta, layout: string, shapes: string): void {
  if (m.shape.length !== 5) {
    throw new ShapeError(`${op}: ${name} must be 5-D ${layout}, got ${fmt(m.shape)} (${shapes})`);
  }
}

function sameFloat(op: string, metas: [string, Meta][]): void {
  const [, first] = metas[0];
  for (const [name, m] of metas) {
    if (!isFloat(m.dtype)) {
      throw new DTypeError(`${op}: ${name} must be a float tensor, got ${m.dtype} ${fmt(m.shape)}`);
    }
    if (m.dtype !== first.dtype) {
      throw new DTypeError(
        `${op}: dtypes differ: ${metas.map(([n, x]) => `${n} ${x.dtype} ${fmt(x.shape)}`).join(", ")}`,
      );
    }
  }
}

const spatial = (m: Meta): Triple => [m.shape[2], m.shape[3], m.shape[4]];

export const conv3dOp = defineOp<Conv3dAttrs>({
  name: "conv3d",
  infer(inputs, attrs) {
    const [x, w, bias] = inputs;
    const op = "conv3d";
    if (inputs.length !== (attrs.hasBias ? 3 : 2)) {
      throw new ShapeError(`${op}: expected ${attrs.hasBias ? 3 : 2} inputs, got ${inputs.length}`);
    }
    const shapes = `x ${fmt(x.shape)}, w ${fmt(w.shape)}`;
    checkGeometry(op, attrs);
    rank5(op, "x", x, "[N, Cin, T, H, W]", shapes);
    rank5(op, "w", w, "[Cout, Cin, kT, kH, kW]", shapes);
    sameFloat(
      op,
      bias
        ? [
            ["x", x],
            ["w", w],
            ["bias", bias],
          ]
        : [
            ["x", x],
            ["w", w],
          ],
    );
    if (x.shape[1] !== w.shape[1]) {
      throw new ShapeError(
        `${op}: input channels differ: x has ${x.shape[1]}, w expects ${w.shape[1]} (${shapes})`,
      );
    }
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== w.shape[0])) {
      throw new ShapeError(
        `${op}: bias ${fmt(bias.shape)} must be [${w.shape[0]}], one per output channel (${shapes})`,
      );
    }
    const out = convOutputSize(op, spatial(x), spatial(w), attrs, shapes);
    return [{ shape: [x.shape[0], w.shape[0], ...out], dtype: x.dtype }];
  },
  backward({ inputs, grads: [g], attrs, needs }) {
    if (!g) return [undefined, undefined, undefined];
    const [x, w] = inputs;
    const geo = geometry(attrs);
    return [
      needs[0] ? conv3dBackwardInput(g, w, spatial(x), geo) : undefined,
      needs[1] ? conv3dBackwardWeight(x, g, spatial(w), geo) : undefined,
      attrs.hasBias && needs[2] ? sum(g, [0, 2, 3, 4]) : undefined,
    ];
  },
});

export const conv3dBackwardInputOp = defineOp<ConvBackwardInputAttrs>({
  name: "conv3d_backward_input",
  infer([g, w], attrs) {
    const op = "conv3d_backward_input";
    const shapes = `grad ${fmt(g.shape)}, w ${fmt(w.shape)}`;
    checkGeometry(op, attrs);
    rank5(op, "grad", g, "[N, Cout, To, Ho, Wo]", shapes);
    rank5(op, "w", w, "[Cout, Cin, kT, kH, kW]", shapes);
    sameFloat(op, [
      ["grad", g],
      ["w", w],
    ]);
    checkTriple(op, "inputSize", attrs.inputSize);
    if (g.shape[1] !== w.shape[0]) {
      throw new ShapeError(
        `${op}: output channels differ: grad has ${g.shape[1]}, w has ${w.shape[0]} (${shapes})`,
      );
    }
    const out = convOutputSize(op, attrs.inputSize, spatial(w), attrs, shapes);
    if (out.some((o, i) => o !== g.shape[i + 2])) {
      throw new ShapeError(
        `${op}: grad's size ${spatial(g).join("×")} is not the output size ${out.join("×")} of an input ${attrs.inputSize.join("×")} (${shapes})`,
      );
    }
    return [{ shape: [g.shape[0], w.shape[1], ...attrs.inputSize], dtype: g.dtype }];
  },
  backward({ inputs: [g, w], grads: [h], attrs, needs }) {
    // y = A_wᵀ g, where A_w is the convolution with w: so dL/dg = A_w h, dL/dw = dW(h, g).
    if (!h) return [undefined, undefined];
    const geo = geometry(attrs);
    return [
      needs[0] ? conv3d(h, w, undefined, geo) : undefined,
      needs[1] ? conv3dBackwardWeight(h, g, spatial(w), geo) : undefined,
    ];
  },
});

export const conv3dBackwardWeightOp = defineOp<ConvBackwardWeightAttrs>({
  name: "conv3d_backward_weight",
  infer([x, g], attrs) {
    const op = "conv3d_backward_weight";
    const shapes = `x ${fmt(x.shape)}, grad ${fmt(g.shape)}`;
    checkGeometry(op, attrs);
    rank5(op, "x", x, "[N, Cin, T, H, W]", shapes);
    rank5(op, "grad", g, "[N, Cout, To, Ho, Wo]", shapes);
    sameFloat(op, [
      ["x", x],
      ["grad", g],
    ]);
    checkTriple(op, "kernel", attrs.kernel);
    if (x.shape[0] !== g.shape[0]) {
      throw new ShapeError(
        `${op}: batch sizes differ: x has ${x.shape[0]}, grad has ${g.shape[0]} (${shapes})`,
      );
    }
    const out = convOutputSize(op, spatial(x), attrs.kernel, attrs, shapes);
    if (out.some((o, i) => o !== g.shape[i + 2])) {
      throw new ShapeError(
        `${op}: grad's size ${spatial(g).join("×")} is not the output size ${out.join("×")} of x with kernel ${attrs.kernel.join("×")} (${shapes})`,
      );
    }
    return [{ shape: [g.shape[1], x.shape[1], ...attrs.kernel], dtype: x.dtype }];
  },
  backward({ inputs: [x, g], grads: [h], attrs, needs }) {
    // y = dW(x, g) with <dW(x, g), h> = <conv(x, h), g>: dL/dx = A_hᵀ g, dL/dg = conv(x, h).
    if (!h) return [undefined, undefined];
    const geo = geometry(attrs);
    return [
      needs[0] ? conv3dBackwardInput(g, h, spatial(x), geo) : undefined,
      needs[1] ? conv3d(x, h, undefined, geo) : undefined,
    ];
  },
});

function checkTriple(op: string, name: string, t: Triple): void {
  if (!Array.isArray(t) || t.length !== 3 || !t.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ShapeError(
      `${op}: ${name} must be three positive integers, got ${JSON.stringify(t)}`,
    );
  }
}

function geometry(g: ConvGeometry): ConvGeometry {
  return { stride: g.stride, padding: g.padding };
}

function normGeometry(op: string, opts: Conv3dOptions): ConvGeometry {
  const g: ConvGeometry = {
    stride: opts.stride ?? [1, 1, 1],
    padding: opts.padding ?? [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  };
  checkGeometry(op, g);
  return {
    stride: [...g.stride] as Triple,
    padding: g.padding.map((p) => [p[0], p[1]]) as Padding3,
  };
}

/**
 * 3D convolution (cross-correlation, as in PyTorch): x [N, Cin, T, H, W] with w
 * [Cout, Cin, kT, kH, kW] (+ bias [Cout]) → [N, Cout, To, Ho, Wo], To = ⌊(T + pT0 + pT1 − kT) / sT⌋ + 1.
 */
export function conv3d(x: Tensor, w: Tensor, bias?: Tensor, opts: Conv3dOptions = {}): Tensor {
  const g = normGeometry("conv3d", opts);
  const inputs = bias ? [x, w, bias] : [x, w];
  return run1(conv3dOp, inputs, { ...g, hasBias: bias !== undefined });
}

/**
 * Causal 3D convolution: time padded by kT−1 frames in front only (output frame t sees input
 * frames ≤ t·stride), space padded by (k−1)/2 on each side (odd spatial kernels).
 */
export function causalConv3d(x: Tensor, w: Tensor, bias?: Tensor, stride?: Triple): Tensor {
  if (w.rank !== 5) {
    throw new ShapeError(
      `causalConv3d: w must be 5-D [Cout, Cin, kT, kH, kW], got ${fmt(w.shape)} (x ${fmt(x.shape)})`,
    );
  }
  const [, , kT, kH, kW] = w.shape;
  if (kH % 2 === 0 || kW % 2 === 0) {
    throw new ShapeError(
      `causalConv3d: spatial kernel sizes must be odd for symmetric padding, got ${kH}×${kW} (w ${fmt(w.shape)})`,
    );
  }
  const ph = (kH - 1) / 2;
  const pw = (kW - 1) / 2;
  return conv3d(x, w, bias, {
    stride,
    padding: [
      [kT - 1, 0],
      [ph, ph],
      [pw, pw],
    ],
  });
}

/** Gradient of conv3d with respect to its input, of spatial size `inputSize`. */
export function conv3dBackwardInput(
  grad: Tensor,
  w: Tensor,
  inputSize: Triple,
  opts: Conv3dOptions = {},
): Tensor {
  const g = normGeometry("conv3d_backward_input", opts);
  return run1(conv3dBackwardInputOp, [grad, w], { ...g, inputSize: [...inputSize] as Triple });
}

/** Gradient of conv3d with respect to its weight, of kernel size `kernel`. */
export function conv3dBackwardWeight(
  x: Tensor,
  grad: Tensor,
  kernel: Triple,
  opts: Conv3dOptions = {},
): Tensor {
  const g = normGeometry("conv3d_backward_weight", opts);
  return run1(conv3dBackwardWeightOp, [x, grad], { ...g, kernel: [...kernel] as Triple });
}

export interface UpsampleAttrs {
  factors: Triple;
}

export const upsampleNearestOp = defineOp<UpsampleAttrs>({
  name: "upsample_nearest",
  infer([x], attrs) {
    const op = "upsampleNearest";
    if (x.shape.length !== 5) {
      throw new ShapeError(`${op}: x must be 5-D [N, C, T, H, W], got ${fmt(x.shape)}`);
    }
    checkTriple(op, "factors", attrs.factors);
    if (!isFloat(x.dtype)) {
      throw new DTypeError(`${op}: needs a float tensor, got ${x.dtype} ${fmt(x.shape)}`);
    }
    const [N, C, T, H, W] = x.shape;
    const [ft, fh, fw] = attrs.factors;
    return [{ shape: [N, C, T * ft, H * fh, W * fw], dtype: x.dtype }];
  },
  backward({ inputs: [x], grads: [g], attrs }) {
    if (!g) return [undefined];
    // Each input element was copied to an ft×fh×fw block: its gradient is the block's sum.
    const [N, C, T, H, W] = x.shape;
    const [ft, fh, fw] = attrs.factors;
    const blocks = reshape(g, [N * C, T, ft, H, fh, W, fw]);
    return [reshape(sum(blocks, [2, 4, 6]), x.shape)];
  },
});

/** Nearest-neighbour upsampling of [N, C, T, H, W] by integer factors [ft, fh, fw]. */
export function upsampleNearest(x: Tensor, factors: Triple): Tensor {
  return run1(upsampleNearestOp, [x], { factors: [...factors] as Triple });
}

export const convOps: readonly OpDef<never>[] = [
  conv3dOp,
  conv3dBackwardInputOp,
  conv3dBackwardWeightOp,
  upsampleNearestOp,
];
