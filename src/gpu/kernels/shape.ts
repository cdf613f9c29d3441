/**
 * WGSL kernels for the data-moving shape ops. Slice and most permutes are one strided gather
 * (one thread per output element); a permute that moves the innermost axis goes through 32×32
 * tiles in workgroup memory so that both its reads and its writes are coalesced. Concat copies
 * each input into its band of the output (one dispatch per input, so any number of inputs).
 */
import type { ConcatAttrs, PadAttrs, PermuteAttrs, SliceAttrs } from "../../tensor/ops/shape.ts";
import { type Shape, stridesOf } from "../../tensor/shape.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { DIM_FN, header, packDims } from "../wgsl.ts";
import { elementwise } from "./updates.ts";

const WG = 256;
/** Side of a transpose tile; the workgroup is TILE × TILE_ROWS threads, each moving TILE / TILE_ROWS elements. */
const TILE = 32;
const TILE_ROWS = 8;

/**
 * The same permutation on fewer dimensions: size-1 axes are dropped and output axes that stay
 * adjacent and in order are merged (e.g. [B,T,H,D] → [B,H,T,D] becomes a 4-D permute of
 * [B,T,H,D] with perm [0,2,1,3], but [A,B,C] → [C,A,B] becomes the 2-D transpose of [A·B, C]).
 */
export function simplifyPermutation(
  shape: Shape,
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const renumber = new Map(kept.map((k, j) => [k, j]));
  const p = perm.filter((a) => shape[a] !== 1).map((a) => renumber.get(a)!);
  const s = kept.map((k) => shape[k]);
  // Runs of consecutive input axes, in output order.
  const groups: { lo: number; hi: number }[] = [];
  for (const a of p) {
    const last = groups[groups.length - 1];
    if (last && a === last.hi + 1) last.hi = a;
    else groups.push({ lo: a, hi: a });
  }
  const byInput = groups.map((_, i) => i).sort((i, j) => groups[i].lo - groups[j].lo);
  const newShape = byInput.map((g) => {
    let n = 1;
    for (let a = groups[g].lo; a <= groups[g].hi; a++) n *= s[a];
    return n;
  });
  const position = inverse(byInput);
  return { shape: newShape, perm: groups.map((_, i) => position[i]) };
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

/**
 * y[i] = x[base + Σ coord_d · strides_d] over the output's shape: slices, axis-keeping permutes,
 * and broadcasts (stride 0 on a broadcast dimension).
 */
export function gather(
  ctx: WebGpuBackend,
  x: GpuView,
  y: GpuView,
  shape: readonly number[],
  strides: readonly number[],
  base: number,
): void {
  const t = x.dtype;
  const pipe = ctx.pipeline(
    `gather_strided_${t}`,
    () => `${header(t)}
struct P { n: u32, stride: u32, rank: u32, base: u32, shape: array<vec4<u32>, 2>, sx: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
${DIM_FN}
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  var rem = i;
  var ix = p.base;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = dim(p.shape, u32(d));
    ix += (rem % n) * dim(p.sx, u32(d));
    rem = rem / n;
  }
  y[i] = x[ix];
}`,
  );
  const [gx, gy] = ctx.grid(y.size, WG);
  const u = params().u32(y.size, gx * WG, shape.length, base);
  packDims(u, shape);
  packDims(u, strides);
  ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
}

/**
 * Permute that moves the input's innermost axis A away from the end: each workgroup reads a
 * tile along A (contiguous in x) and writes it along B = the input axis that becomes innermost
 * in y (contiguous in y); every other axis is a batch index.
 */
function tiledPermute(
  ctx: WebGpuBackend,
  x: GpuView,
  y: GpuView,
  shape: readonly number[],
  perm: readonly number[],
): void {
  const t = x.dtype;
  const n = shape.length;
  const axisA = n - 1;
  const axisB = perm[n - 1];
  const inv = inverse(perm);
  const sx = stridesOf(shape);
  const sy = stridesOf(perm.map((q) => shape[q]));
  const batchAxes = shape.map((_, k) => k).filter((k) => k !== axisA && k !== axisB);
  const batch = batchAxes.reduce((q, k) => q * shape[k], 1);
  const tilesA = Math.ceil(shape[axisA] / TILE);
  const tilesB = Math.ceil(shape[axisB] / TILE);
  const pitch = TILE + 1; // one spare column keeps the column reads off a single memory bank
  const pipe = ctx.pipeline(
    `permute_tiled_${t}`,
    () => `${header(t)}
struct P {
  dimA: u32, dimB: u32, strideInB: u32, strideOutA: u32,
  tilesA: u32, tilesB: u32, batch: u32, groupsX: u32,
  rank: u32, pad0: u32, pad1: u32, pad2: u32,
  shape: array<vec4<u32>, 2>, sIn: array<vec4<u32>, 2>, sOut: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> tile: array<${t}, ${TILE * pitch}>;
${DIM_FN}
@compute @workgroup_size(${TILE}, ${TILE_ROWS}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = wid.x + wid.y * p.groupsX;
  let tileA = w % p.tilesA;
  let rest = w / p.tilesA;
  let tileB = rest % p.tilesB;
  let b = rest / p.tilesB;
  if (b >= p.batch) { return; }
  var rem = b;
  var baseIn = 0u;
  var baseOut = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = dim(p.shape, u32(d));
    let c = rem % n;
    rem = rem / n;
    baseIn += c * dim(p.sIn, u32(d));
    baseOut += c * dim(p.sOut, u32(d));
  }
  for (var k = 0u; k < ${TILE}u; k += ${TILE_ROWS}u) {
    let ia = tileA * ${TILE}u + lid.x;
    let ib = tileB * ${TILE}u + lid.y + k;
    if (ia < p.dimA && ib < p.dimB) {
      tile[(lid.y + k) * ${pitch}u + lid.x] = x[baseIn + ib * p.strideInB + ia];
    }
  }
  workgroupBarrier();
  for (var k = 0u; k < ${TILE}u; k += ${TILE_ROWS}u) {
    let ib = tileB * ${TILE}u + lid.x;
    let ia = tileA * ${TILE}u + lid.y + k;
    if (ia < p.dimA && ib < p.dimB) {
      y[baseOut + ia * p.strideOutA + ib] = tile[lid.x * ${pitch}u + lid.y + k];
    }
  }
}`,
  );
  const [gx, gy] = ctx.grid(tilesA * tilesB * batch, 1);
  const u = params().u32(
    shape[axisA],
    shape[axisB],
    sx[axisB],
    sy[inv[axisA]],
    tilesA,
    tilesB,
    batch,
    gx,
    batchAxes.length,
    0,
    0,
    0,
  );
  packDims(
    u,
    batchAxes.map((k) => shape[k]),
  );
  packDims(
    u,
    batchAxes.map((k) => sx[k]),
  );
  packDims(
    u,
    batchAxes.map((k) => sy[inv[k]]),
  );
  ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
}

export const shapeGpu = {
  permute(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], a: PermuteAttrs) {
    if (y.size === 0) return;
    const s = simplifyPermutation(x.shape, a.perm);
    const n = s.shape.length;
    if (n >= 2 && s.perm[n - 1] !== n - 1) {
      tiledPermute(ctx, x, y, s.shape, s.perm);
      return;
    }
    const sx = stridesOf(s.shape);
    gather(
      ctx,
      x,
      y,
      s.perm.map((q) => s.shape[q]),
      s.perm.map((q) => sx[q]),
      0,
    );
  },

  slice(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], a: SliceAttrs) {
    if (y.size === 0) return;
    const sx = stridesOf(x.shape);
    const base = a.starts.reduce((q, s, d) => q + s * sx[d], 0);
    gather(ctx, x, y, y.shape, sx, base);
  },

  concat(ctx: WebGpuBackend, xs: GpuView[], [y]: GpuView[], a: ConcatAttrs) {
    const t = y.dtype;
    const pipe = ctx.pipeline(
      `concat_band_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, row: u32, outRow: u32, offset: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  y[(i / p.row) * p.outRow + p.offset + i % p.row] = x[i];
}`,
    );
    const inner = y.shape.slice(a.axis + 1).reduce((q, d) => q * d, 1);
    const outRow = y.shape[a.axis] * inner;
    let offset = 0;
    for (const x of xs) {
      const row = x.shape[a.axis] * inner;
      if (x.size > 0) {
        const [gx, gy] = ctx.grid(x.size, WG);
        const u = params().u32(x.size, gx * WG, row, outRow, offset, 0, 0, 0);
        ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
      }
      offset += row;
    }
  },

  pad(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], a: PadAttrs) {
    if (y.size === 0) return;
    const t = y.dtype;
    const valueType = t === "i32" ? "i32" : "f32";
    const pipe = ctx.pipeline(
      `pad_${t}`,
      () => `${header(t)}
struct P {
  n: u32, stride: u32, rank: u32, value: ${valueType},
  shape: array<vec4<u32>, 2>, inShape: array<vec4<u32>, 2>, before: array<vec4<u32>, 2>, sx: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
${DIM_FN}
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  var rem = i;
  var ix = 0u;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = dim(p.shape, u32(d));
    let c = i32(rem % n) - i32(dim(p.before, u32(d)));
    rem = rem / n;
    if (c < 0 || c >= i32(dim(p.inShape, u32(d)))) { inside = false; }
    ix += u32(max(c, 0)) * dim(p.sx, u32(d));
  }
  if (inside) { y[i] = x[ix]; } else { y[i] = ${t}(p.value); }
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    const u = params().u32(y.size, gx * WG, y.shape.length);
    if (t === "i32") u.i32(a.value);
    else u.f32(a.value);
    packDims(u, y.shape);
    packDims(u, x.shape);
    packDims(u, a.before);
    packDims(u, stridesOf(x.shape));
    ctx.dispatch(pipe, [x.storage, y.storage], u, [gx, gy]);
  },

  assign(ctx: WebGpuBackend, [, src]: GpuView[], [dst]: GpuView[]) {
    const d = dst.dtype;
    const s = src.dtype;
    elementwise(
      ctx,
      `assign_${s}_${d}`,
      [d, s],
      `@group(0) @binding(0) var<storage, read_write> dst: array<${d}>;
@group(0) @binding(1) var<storage, read> src: array<${s}>;`,
      d === s ? "dst[i] = src[i];" : `dst[i] = ${d}(f32(src[i]));`,
      "pad0: u32, pad1: u32",
      [dst.storage, src.storage],
      dst.size,
      (u) => u.u32(0, 0),
    );
  },
};
