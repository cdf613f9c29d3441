/**
 * Lowerings of the normalisations (layer norm as ONNX LayerNormalization, RMS and group norm as
 * reductions), their fused backward ops written out as reductions and elementwise nodes, adaLN
 * modulation, softmax, attention (scores, softmax and the weighted sum; the backward rebuilds the
 * same nodes, which the builder shares with the forward, so the softmax is computed once), and
 * the 3-D rotary embedding as x·cos + swap(x)·sin with constant tables.
 */

import type { Meta } from "../../tensor/op.ts";
import type { AttentionAttrs, Rope3dAttrs } from "../../tensor/ops/attention.ts";
import { ropeFrequency } from "../../tensor/ops/attention.ts";
import type { NormAttrs, NormBackwardAttrs } from "../../tensor/ops/norm.ts";
import type { GraphBuilder } from "../builder.ts";
import { affine, reduceMean, reduceSum, reshape } from "./common.ts";
import type { LowerArgs, Lowering, LoweringTable } from "./lowering.ts";

const layernorm: Lowering<NormAttrs> = ({ b, x, in: [mx], attrs: a }) => {
  const D = mx.shape[mx.shape.length - 1];
  const gamma = a.hasGamma ? x[1] : b.constant(new Float32Array(D).fill(1), [D]);
  const ins = a.hasBeta ? [x[0], gamma, x[a.hasGamma ? 2 : 1]] : [x[0], gamma];
  const [y, mean, rstd] = b.node("LayerNormalization", ins, { axis: -1, epsilon: { f: a.eps } }, 3);
  const stats = mx.shape.slice(0, -1);
  return [y, reshape(b, mean, stats), reshape(b, rstd, stats)];
};

const rmsnorm: Lowering<NormAttrs> = ({ b, x, in: [mx], attrs: a }) => {
  const ms = reduceMean(b, b.op("Mul", [x[0], x[0]]), [-1], true);
  const rstd = b.op("Reciprocal", [b.op("Sqrt", [affine(b, ms, 1, a.eps)])]);
  let y = b.op("Mul", [x[0], rstd]);
  if (a.hasGamma) y = b.op("Mul", [y, x[1]]);
  return [y, reshape(b, rstd, mx.shape.slice(0, -1))];
};

/** Group norm's view of x as [N, G, (C/G)·S] and the per-channel parameter shape [C, 1, …]. */
function groupView(m: Meta, groups: number) {
  const [n, c] = m.shape;
  const channelShape = [c, ...m.shape.slice(2).map(() => 1)];
  return { rows: [n, groups, -1], channelShape };
}

const groupnorm: Lowering<NormAttrs> = ({ b, x, in: [mx], attrs: a }) => {
  const g = a.groups ?? 1;
  const { rows, channelShape } = groupView(mx, g);
  const xr = reshape(b, x[0], rows);
  const mean = reduceMean(b, xr, [2], true);
  const d = b.op("Sub", [xr, mean]);
  const variance = reduceMean(b, b.op("Mul", [d, d]), [2], true);
  const rstd = b.op("Reciprocal", [b.op("Sqrt", [affine(b, variance, 1, a.eps)])]);
  let y = reshape(b, b.op("Mul", [d, rstd]), mx.shape);
  let i = 1;
  if (a.hasGamma) y = b.op("Mul", [y, reshape(b, x[i++], channelShape)]);
  if (a.hasBeta) y = b.op("Add", [y, reshape(b, x[i], channelShape)]);
  const stats = [mx.shape[0], g];
  return [y, reshape(b, mean, stats), reshape(b, rstd, stats)];
};

/**
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) over each statistics row, ĝ = dy·gamma (RMS norm drops
 * mean(ĝ)); dgamma = Σ dy·x̂ and dbeta = Σ dy over everything but the channel axis.
 */
function normBackward(kind: "layer" | "rms" | "group"): Lowering<NormBackwardAttrs> {
  return ({ b, x, in: ins, attrs: a }: LowerArgs<NormBackwardAttrs>) => {
    const mx = ins[0];
    let i = 1;
    const gamma = a.hasGamma ? x[i++] : null;
    const mean = kind === "rms" ? null : x[i++];
    const rstd = x[i++];
    const dy = x[i];
    const g = a.groups ?? 1;
    const group = kind === "group";
    const { rows, channelShape } = group ? groupView(mx, g) : { rows: [], channelShape: [] };
    // Rows view: [..., D] with statistics [..., 1], or [N, G, L] with statistics [N, G, 1].
    const rowsOf = (v: string) => (group ? reshape(b, v, rows) : v);
    const statShape = group ? [mx.shape[0], g, 1] : [...mx.shape.slice(0, -1), 1];
    const rstdK = reshape(b, rstd, statShape);
    const xr = rowsOf(x[0]);
    const centred = mean ? b.op("Sub", [xr, reshape(b, mean, statShape)]) : xr;
    const xhat = b.op("Mul", [centred, rstdK]);
    const gammaB = gamma && group ? reshape(b, gamma, channelShape) : gamma;
    const ghat = rowsOf(gammaB ? b.op("Mul", [dy, gammaB]) : dy);
    const axis = group ? [2] : [-1];
    let inner = b.op("Mul", [xhat, reduceMean(b, b.op("Mul", [ghat, xhat]), axis, true)]);
    if (kind !== "rms") inner = b.op("Add", [inner, reduceMean(b, ghat, axis, true)]);
    const dxr = b.op("Mul", [b.op("Sub", [ghat, inner]), rstdK]);
    const out = [group ? reshape(b, dxr, mx.shape) : dxr];
    if (!a.paramGrads) return out;
    // Parameter gradients sum over every axis but the channel one.
    const paramAxes = group
      ? mx.shape.map((_, k) => k).filter((k) => k !== 1)
      : mx.shape.slice(0, -1).map((_, k) => k);
    const xhatFull = group ? reshape(b, xhat, mx.shape) : xhat;
    if (a.hasGamma) out.push(reduceSum(b, b.op("Mul", [dy, xhatFull]), paramAxes, false));
    if (a.hasBeta) out.push(reduceSum(b, dy, paramAxes, false));
    return out;
  };
}

const modulate: Lowering<Record<string, never>> = ({ b, x: [x, shift, scale] }) => {
  const one = affine(b, b.op("Unsqueeze", [scale, b.ints([1])]), 1, 1);
  return [b.op("Add", [b.op("Mul", [x, one]), b.op("Unsqueeze", [shift, b.ints([1])])])];
};

const modulateBackward: Lowering<Record<string, never>> = ({ b, x: [x, scale, dy] }) => {
  const one = affine(b, b.op("Unsqueeze", [scale, b.ints([1])]), 1, 1);
  return [
    b.op("Mul", [dy, one]),
    reduceSum(b, dy, [1], false),
    reduceSum(b, b.op("Mul", [dy, x]), [1], false),
  ];
};

const softmax: Lowering<Record<string, never>> = ({ b, x: [x] }) => [
  b.op("Softmax", [x], { axis: -1 }),
];

const softmaxBackward: Lowering<Record<string, never>> = ({ b, x: [y, dy] }) => [
  b.op("Mul", [y, b.op("Sub", [dy, reduceSum(b, b.op("Mul", [dy, y]), [-1], true)])]),
];

/** Scaled, masked scores [B, H, Tq, Tk] and their softmax. */
function scores(b: GraphBuilder, q: string, k: string, mq: Meta, mk: Meta, a: AttentionAttrs) {
  const tq = mq.shape[2];
  const tk = mk.shape[2];
  const kT = b.op("Transpose", [k], { perm: [0, 1, 3, 2] });
  let s = affine(b, b.op("MatMul", [q, kT]), a.scale);
  if (a.causal) {
    // Query i sees keys j ≤ i + (Tk − Tq).
    const mask = new Float32Array(tq * tk);
    for (let i = 0; i < tq; i++)
      for (let j = 0; j < tk; j++)
        mask[i * tk + j] = j <= i + (tk - tq) ? 0 : Number.NEGATIVE_INFINITY;
    s = b.op("Add", [s, b.constant(mask, [tq, tk])]);
  }
  return { s, p: b.op("Softmax", [s], { axis: -1 }) };
}

const attention: Lowering<AttentionAttrs> = ({ b, x: [q, k, v], in: [mq, mk], attrs }) => {
  const { s, p } = scores(b, q, k, mq, mk, attrs);
  const lse = b.op("ReduceLogSumExp", [s], { axes: [-1], keepdims: 0 });
  return [b.op("MatMul", [p, v]), lse];
};

/**
 * dv = Pᵀ·dO; dP = dO·vᵀ; dS = P∘(dP − rowsum(dP∘P)); dq = scale·dS·k; dk = scale·dSᵀ·q. P is
 * rebuilt from q and k with the forward's own nodes (shared by the builder), not from lse.
 */
const attentionBackward: Lowering<AttentionAttrs> = ({
  b,
  x: [q, k, v, , , dO],
  in: [mq, mk],
  attrs,
}) => {
  const { p } = scores(b, q, k, mq, mk, attrs);
  const T = (t: string) => b.op("Transpose", [t], { perm: [0, 1, 3, 2] });
  const dv = b.op("MatMul", [T(p), dO]);
  const dp = b.op("MatMul", [dO, T(v)]);
  const ds = b.op("Mul", [p, b.op("Sub", [dp, reduceSum(b, b.op("Mul", [dp, p]), [-1], true)])]);
  const dq = affine(b, b.op("MatMul", [ds, k]), attrs.scale);
  const dk = affine(b, b.op("MatMul", [T(ds), q]), attrs.scale);
  return [dq, dk, dv];
};

const rope3d: Lowering<Rope3dAttrs> = ({ b, x: [x], in: [m], attrs: a }) => {
  const dh = m.shape[m.shape.length - 1];
  const t = m.shape[m.shape.length - 2];
  const [, gh, gw] = a.grid;
  const sign = a.inverse ? -1 : 1;
  const cos = new Float32Array(t * dh);
  const sin = new Float32Array(t * dh);
  for (let tok = 0; tok < t; tok++) {
    const pos = [Math.floor(tok / (gh * gw)), Math.floor(tok / gw) % gh, tok % gw];
    let c = 0;
    for (let axis = 0; axis < 3; axis++) {
      const sec = a.sections[axis];
      for (let i = 0; i < sec / 2; i++, c += 2) {
        const angle = pos[axis] * ropeFrequency(i, sec, a.theta);
        cos[tok * dh + c] = cos[tok * dh + c + 1] = Math.cos(angle);
        // y0 = x0·cos − x1·sin, y1 = x1·cos + x0·sin: swap(x) = (x1, x0) times (−sin, +sin).
        sin[tok * dh + c] = -sign * Math.sin(angle);
        sin[tok * dh + c + 1] = sign * Math.sin(angle);
      }
    }
  }
  const pairs = reshape(b, x, [...m.shape.slice(0, -1), dh / 2, 2]);
  const swapped = reshape(
    b,
    b.op("Gather", [pairs, b.constant([1, 0], [2], "int64")], { axis: -1 }),
    m.shape,
  );
  return [
    b.op("Add", [
      b.op("Mul", [x, b.constant(cos, [t, dh])]),
      b.op("Mul", [swapped, b.constant(sin, [t, dh])]),
    ]),
  ];
};

export const normLowerings: LoweringTable = {
  layernorm,
  layernorm_backward: normBackward("layer"),
  rmsnorm,
  rmsnorm_backward: normBackward("rms"),
  groupnorm,
  groupnorm_backward: normBackward("group"),
  modulate,
  modulate_backward: modulateBackward,
  softmax,
  softmax_backward: softmaxBackward,
  attention,
  attention_backward: attentionBackward,
  rope3d,
} as LoweringTable;
