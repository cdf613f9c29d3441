/**
 * WGSL kernels for embedding lookup and its gradient. WGSL has no float atomics, so the
 * scatter-add is turned around: each workgroup owns one table row (and a block of its columns),
 * scans all ids for that row, and sums the matching gradient rows in increasing position order.
 * Every output element has one writer and a fixed summation order, so the result is
 * deterministic and equal to the CPU reference's order.
 */
import type { EmbeddingAttrs, EmbeddingBackwardAttrs } from "../../tensor/ops/embedding.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { header } from "../wgsl.ts";

const WG = 256;
/** Columns each thread of the gradient kernel accumulates in registers. */
const COLS = 4;

export const embeddingGpu = {
  embedding(ctx: WebGpuBackend, [table, ids]: GpuView[], [y]: GpuView[], _a: EmbeddingAttrs) {
    if (y.size === 0) return;
    const t = table.dtype;
    const pipe = ctx.pipeline(
      `embedding_${t}`,
      () => `${header(t)}
struct P { n: u32, stride: u32, vocab: u32, dim: u32 }
@group(0) @binding(0) var<storage, read> table: array<${t}>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  let id = ids[i / p.dim];
  if (id >= 0 && u32(id) < p.vocab) {
    y[i] = table[u32(id) * p.dim + i % p.dim];
  } else {
    y[i] = ${t}(0.0);
  }
}`,
    );
    const [gx, gy] = ctx.grid(y.size, WG);
    const u = params().u32(y.size, gx * WG, table.shape[0], table.shape[1]);
    ctx.dispatch(pipe, [table.storage, ids.storage, y.storage], u, [gx, gy]);
  },

  embedding_backward(
    ctx: WebGpuBackend,
    [g, ids]: GpuView[],
    [out]: GpuView[],
    a: EmbeddingBackwardAttrs,
  ) {
    if (out.size === 0) return;
    const t = g.dtype;
    const dim = out.shape[1];
    const block = WG * COLS;
    const colBlocks = Math.ceil(dim / block);
    const pipe = ctx.pipeline(
      `embedding_backward_${t}`,
      () => `${header(t)}
struct P { vocab: u32, dim: u32, n: u32, groupsX: u32, colBlocks: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> g: array<${t}>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> scan: array<u32, ${WG}>;
var<workgroup> hits: array<u32, ${WG}>;
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * p.groupsX;
  let row = w % p.vocab;
  let col0 = (w / p.vocab) * ${block}u + lid;
  if (w / p.vocab >= p.colBlocks) { return; }
  var acc: array<f32, ${COLS}>;
  for (var base = 0u; base < p.n; base += ${WG}u) {
    // Mark this chunk's positions whose id is this row, then compact them in position order
    // with an inclusive prefix sum over the marks.
    let pos = base + lid;
    var hit = 0u;
    if (pos < p.n) { hit = select(0u, 1u, ids[pos] == i32(row)); }
    scan[lid] = hit;
    workgroupBarrier();
    for (var off = 1u; off < ${WG}u; off = off << 1u) {
      var carry = 0u;
      if (lid >= off) { carry = scan[lid - off]; }
      workgroupBarrier();
      scan[lid] += carry;
      workgroupBarrier();
    }
    if (hit == 1u) { hits[scan[lid] - 1u] = pos; }
    let count = scan[${WG - 1}u];
    workgroupBarrier();
    for (var k = 0u; k < count; k++) {
      let src = hits[k] * p.dim;
      for (var c = 0u; c < ${COLS}u; c++) {
        let d = col0 + c * ${WG}u;
        if (d < p.dim) { acc[c] += f32(g[src + d]); }
      }
    }
    workgroupBarrier();
  }
  for (var c = 0u; c < ${COLS}u; c++) {
    let d = col0 + c * ${WG}u;
    if (d < p.dim) { out[row * p.dim + d] = ${t}(acc[c]); }
  }
}`,
    );
    const [gx, gy] = ctx.grid(a.vocab * colBlocks, 1);
    const u = params().u32(a.vocab, dim, ids.size, gx, colBlocks, 0, 0, 0);
    ctx.dispatch(pipe, [g.storage, ids.storage, out.storage], u, [gx, gy]);
  },
};
