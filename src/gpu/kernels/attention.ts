/**
 * WGSL kernels for the attention family: row softmax, flash-style attention forward and backward,
 * and 3-D rotary embedding.
 *
 * Attention never stores a score matrix: a workgroup owns a block of rows (queries for the forward
 * and dQ passes, keys for the dK/dV pass), streams tiles of the other side through workgroup
 * memory and keeps its accumulators in registers (16 threads per row, each owning every 16th
 * channel of the head dimension). The forward keeps an online softmax (running max m, running
 * sum l) and writes O and lse = m + log l. The backward first writes D = rowsum(dO∘O) to a
 * scratch buffer, then one pass over query tiles per key block accumulates dK and dV, and one
 * pass over key tiles per query block accumulates dQ; each rebuilds its score tile from q, k and
 * lse, so nothing is summed across workgroups and no float atomics are needed. Workgroup memory
 * depends on the head dimension and the tile sizes only, never on T.
 *
 * These are the portable fp32-arithmetic kernels (any WebGPU device). A tensor-core variant for
 * devices with "subgroup-matrix" (issue #3) plugs in at `flashVariant`.
 */
import type { DType } from "../../tensor/dtype.ts";
import { DeviceError } from "../../tensor/errors.ts";
import type { AttentionAttrs, Rope3dAttrs } from "../../tensor/ops/attention.ts";
import { ropeFrequency } from "../../tensor/ops/attention.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { header } from "../wgsl.ts";

// ---------------------------------------------------------------------------------------------
// softmax

/** A workgroup-wide max and sum over one f32 per thread (call from uniform control flow). */
function rowReduceFns(wg: number): string {
  return `var<workgroup> red: array<f32, ${wg}>;
fn wg_reduce(v: f32, lid: u32, is_max: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var k = ${wg / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      let o = red[lid + k];
      red[lid] = select(red[lid] + o, max(red[lid], o), is_max);
    }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
}

function rowThreads(n: number): number {
  return n > 2048 ? 256 : 64;
}

function softmaxRows(
  ctx: WebGpuBackend,
  y: GpuView,
): { n: number; rows: number; gx: number; gy: number } {
  const n = y.shape[y.shape.length - 1];
  const rows = n > 0 ? y.size / n : 0;
  const [gx, gy] = ctx.grid(rows, 1);
  return { n, rows, gx, gy };
}

// ---------------------------------------------------------------------------------------------
// flash attention: tiling

/** Threads that share one row of a block (each owns every TPR-th channel of the head). */
export const THREADS_PER_ROW = 16;
const NEG = "-3.0e38";

export type FlashPass = "forward" | "dq" | "dkv";

export interface FlashTiles {
  /** Rows a workgroup owns: queries (forward, dq) or keys (dkv). */
  rows: number;
  /** Length of the streamed tiles of the other side: keys (forward, dq) or queries (dkv). */
  inner: number;
}

const TILE_CANDIDATES: FlashTiles[] = [
  { rows: 16, inner: 32 },
  { rows: 16, inner: 16 },
  { rows: 8, inner: 32 },
  { rows: 8, inner: 16 },
  { rows: 8, inner: 8 },
  { rows: 4, inner: 16 },
  { rows: 4, inner: 8 },
];

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** Bytes of workgroup memory a pass declares: a function of Dh and the tiles alone. */
export function flashWorkgroupBytes(pass: FlashPass, dh: number, tiles: FlashTiles): number {
  const ds = dh + 1;
  const { rows, inner } = tiles;
  const f32s =
    pass === "forward"
      ? pad4(rows * ds) + 2 * pad4(inner * ds) + pad4(rows * inner)
      : pass === "dq"
        ? 2 * pad4(rows * ds) + 2 * pad4(inner * ds) + pad4(rows * inner)
        : 2 * pad4(rows * ds) + 2 * pad4(inner * ds) + 2 * pad4(rows * inner) + 2 * pad4(inner);
  return 4 * f32s;
}

/** The largest tiles whose workgroup memory and thread count fit the device's limits. */
export function chooseFlashTiles(
  pass: FlashPass,
  dh: number,
  limitBytes: number,
  maxThreads: number,
): FlashTiles {
  for (const c of TILE_CANDIDATES) {
    if (c.rows * THREADS_PER_ROW > maxThreads) continue;
    if (flashWorkgroupBytes(pass, dh, c) <= limitBytes) return c;
  }
  throw new DeviceError(
    `attention: head dimension ${dh} needs more than the ${limitBytes} bytes of workgroup memory this device offers`,
  );
}

/**
 * Head-dimension classes: a kernel compiled for class c serves every Dh ≤ c. There is no class
 * 16: with a single accumulator per thread, lavapipe's LLVM took seconds to compile each kernel.
 */
const DH_CLASSES = [32, 64, 128];

export function headDimClass(dh: number): number {
  const c = DH_CLASSES.find((x) => dh <= x);
  if (c === undefined) throw new DeviceError(`attention: head dimension ${dh} exceeds 128`);
  return c;
}

/** Kernel choice per device. Only the portable kernel exists; issue #3 adds tensor cores here. */
function flashVariant(ctx: WebGpuBackend, pass: FlashPass, dh: number, dtype: DType): FlashConfig {
  // A subgroup-matrix (f16 tensor-core) path would be selected on ctx.features.has("subgroup-matrix").
  const maxDh = headDimClass(dh);
  const tiles = chooseFlashTiles(
    pass,
    maxDh,
    ctx.limits.maxComputeWorkgroupStorageSize,
    ctx.limits.maxComputeInvocationsPerWorkgroup,
  );
  return { maxDh, tiles, dtype };
}

/**
 * What a compiled flash kernel is specialised on: the head-dimension class (tile strides and
 * per-thread accumulators), the tiles and the dtype. T, the actual Dh, the scale and causal
 * masking are uniforms. Loops run to uniform bounds, which also keeps lavapipe (LLVM) from
 * unrolling them: constant bounds made each kernel take ~10 s to compile there.
 */
export interface FlashConfig {
  maxDh: number;
  tiles: FlashTiles;
  dtype: DType;
}

/** Uniform block shared by the three passes (off = Tk − Tq aligns the causal mask). */
const FLASH_PARAMS = `struct P { tq: u32, tk: u32, nbh: u32, ybh: u32, scale: f32, off: u32, causal: u32, dh: u32 }`;

function flashConstants(c: FlashConfig): string {
  return `const DS = ${c.maxDh + 1}u;
const ROWS = ${c.tiles.rows}u;
const INNER = ${c.tiles.inner}u;
const TPR = ${THREADS_PER_ROW}u;
const NT = ${c.tiles.rows * THREADS_PER_ROW}u;
const DPT = ${c.maxDh / THREADS_PER_ROW}u;
const NEG = ${NEG};`;
}

function wgArrays(c: FlashConfig, names: [string, "rows" | "inner" | "tile" | "vec"][]): string {
  const ds = c.maxDh + 1;
  const { rows, inner } = c.tiles;
  const len = { rows: rows * ds, inner: inner * ds, tile: rows * inner, vec: inner };
  return names.map(([n, k]) => `var<workgroup> ${n}: array<f32, ${pad4(len[k])}>;`).join("\n");
}

/** Copies `count` rows of a [., Dh] tensor starting at row `first` into a tile (0 past `limit`). */
function loadTile(
  tile: string,
  src: string,
  base: string,
  first: string,
  count: string,
  limit: string,
  scale = "",
): string {
  return `for (var e = lid; e < ${count} * p.dh; e += NT) {
    let rr = e / p.dh;
    let d = e % p.dh;
    let g = ${first} + rr;
    var val = 0.0;
    if (g < ${limit}) { val = f32(${src}[${base} + g * p.dh + d])${scale}; }
    ${tile}[rr * DS + d] = val;
  }`;
}

/** Loads the key and value tile starting at key k0 (zeros past Tk). */
const LOAD_KV = `for (var e = lid; e < INNER * p.dh; e += NT) {
      let jj = e / p.dh;
      let d = e % p.dh;
      let g = k0 + jj;
      var kv = 0.0;
      var vv = 0.0;
      if (g < p.tk) { kv = f32(k[kBase + g * p.dh + d]); vv = f32(v[kBase + g * p.dh + d]); }
      ks[jj * DS + d] = kv;
      vs[jj * DS + d] = vv;
    }`;

const ENTRY = `@compute @workgroup_size(NT)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wid.y + wid.z * p.ybh;
  if (bh >= p.nbh) { return; }
  let r = lid / TPR;
  let t = lid % TPR;
  let qBase = bh * p.tq * p.dh;
  let kBase = bh * p.tk * p.dh;
  let causal = p.causal != 0u;`;

/** End (exclusive) of the keys that queries q0..q0+ROWS−1 may see. */
const KEY_END = "select(p.tk, min(p.tk, q0 + ROWS + p.off), causal)";

/** Flash forward: one workgroup per ROWS queries, online softmax over key tiles of INNER keys. */
export function flashForwardWgsl(c: FlashConfig): string {
  const t = c.dtype;
  return `${header(t)}
${FLASH_PARAMS}
@group(0) @binding(0) var<storage, read> q: array<${t}>;
@group(0) @binding(1) var<storage, read> k: array<${t}>;
@group(0) @binding(2) var<storage, read> v: array<${t}>;
@group(0) @binding(3) var<storage, read_write> o: array<${t}>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${flashConstants(c)}
${wgArrays(c, [
  ["qs", "rows"],
  ["ks", "inner"],
  ["vs", "inner"],
  ["ss", "tile"],
])}
${ENTRY}
  let q0 = wid.x * ROWS;
  let qi = q0 + r;
  ${loadTile("qs", "q", "qBase", "q0", "ROWS", "p.tq", " * p.scale")}
  var acc: array<f32, DPT>;
  var m = NEG;
  var l = 0.0;
  let kEnd = ${KEY_END};
  for (var k0 = 0u; k0 < kEnd; k0 += INNER) {
    let nk = min(INNER, kEnd - k0);
    workgroupBarrier();
    ${LOAD_KV}
    workgroupBarrier();
    for (var jj = t; jj < nk; jj += TPR) {
      var s = 0.0;
      for (var d = 0u; d < p.dh; d++) { s += qs[r * DS + d] * ks[jj * DS + d]; }
      let g = k0 + jj;
      let ok = !causal || g <= qi + p.off;
      ss[r * INNER + jj] = select(NEG, s, ok);
    }
    workgroupBarrier();
    var mt = m;
    for (var jj = 0u; jj < nk; jj++) { mt = max(mt, ss[r * INNER + jj]); }
    workgroupBarrier();
    for (var jj = t; jj < nk; jj += TPR) {
      let s = ss[r * INNER + jj];
      ss[r * INNER + jj] = select(0.0, exp(s - mt), s > 0.5 * NEG);
    }
    workgroupBarrier();
    let alpha = exp(m - mt);
    l = l * alpha;
    for (var u = 0u; u < DPT; u++) { acc[u] = acc[u] * alpha; }
    for (var jj = 0u; jj < nk; jj++) {
      let pj = ss[r * INNER + jj];
      l += pj;
      for (var u = 0u; u < DPT; u++) {
        let d = t + u * TPR;
        if (d < p.dh) { acc[u] += pj * vs[jj * DS + d]; }
      }
    }
    m = mt;
  }
  if (qi < p.tq) {
    let inv = 1.0 / l;
    for (var u = 0u; u < DPT; u++) {
      let d = t + u * TPR;
      if (d < p.dh) { o[qBase + qi * p.dh + d] = ${t}(acc[u] * inv); }
    }
    if (t == 0u) { lse[bh * p.tq + qi] = m + log(l); }
  }
}`;
}

/** dQ pass: one workgroup per ROWS queries; dQ = scale·Σ_j P∘(dP − D)·k over key tiles. */
export function flashDqWgsl(c: FlashConfig): string {
  const t = c.dtype;
  return `${header(t)}
${FLASH_PARAMS}
@group(0) @binding(0) var<storage, read> q: array<${t}>;
@group(0) @binding(1) var<storage, read> k: array<${t}>;
@group(0) @binding(2) var<storage, read> v: array<${t}>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dlt: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<${t}>;
@group(0) @binding(6) var<storage, read_write> dq: array<${t}>;
@group(0) @binding(7) var<uniform> p: P;
${flashConstants(c)}
${wgArrays(c, [
  ["qs", "rows"],
  ["dos", "rows"],
  ["ks", "inner"],
  ["vs", "inner"],
  ["ss", "tile"],
])}
${ENTRY}
  let q0 = wid.x * ROWS;
  let qi = q0 + r;
  ${loadTile("qs", "q", "qBase", "q0", "ROWS", "p.tq", " * p.scale")}
  ${loadTile("dos", "dout", "qBase", "q0", "ROWS", "p.tq")}
  var li = 0.0;
  var di = 0.0;
  if (qi < p.tq) { li = lse[bh * p.tq + qi]; di = dlt[bh * p.tq + qi]; }
  var acc: array<f32, DPT>;
  let kEnd = ${KEY_END};
  for (var k0 = 0u; k0 < kEnd; k0 += INNER) {
    let nk = min(INNER, kEnd - k0);
    workgroupBarrier();
    ${LOAD_KV}
    workgroupBarrier();
    for (var jj = t; jj < nk; jj += TPR) {
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.dh; d++) {
        s += qs[r * DS + d] * ks[jj * DS + d];
        dp += dos[r * DS + d] * vs[jj * DS + d];
      }
      let g = k0 + jj;
      let ok = !causal || g <= qi + p.off;
      let pv = select(0.0, exp(s - li), ok);
      ss[r * INNER + jj] = pv * (dp - di);
    }
    workgroupBarrier();
    for (var jj = 0u; jj < nk; jj++) {
      let ds = ss[r * INNER + jj];
      for (var u = 0u; u < DPT; u++) {
        let d = t + u * TPR;
        if (d < p.dh) { acc[u] += ds * ks[jj * DS + d]; }
      }
    }
  }
  if (qi < p.tq) {
    for (var u = 0u; u < DPT; u++) {
      let d = t + u * TPR;
      if (d < p.dh) { dq[qBase + qi * p.dh + d] = ${t}(acc[u] * p.scale); }
    }
  }
}`;
}

/** dK/dV pass: one workgroup per ROWS keys; dV = Σ_i P·dO, dK = Σ_i P∘(dP − D)·scale·q. */
export function flashDkvWgsl(c: FlashConfig): string {
  const t = c.dtype;
  return `${header(t)}
${FLASH_PARAMS}
@group(0) @binding(0) var<storage, read> q: array<${t}>;
@group(0) @binding(1) var<storage, read> k: array<${t}>;
@group(0) @binding(2) var<storage, read> v: array<${t}>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dlt: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<${t}>;
@group(0) @binding(6) var<storage, read_write> dk: array<${t}>;
@group(0) @binding(7) var<storage, read_write> dv: array<${t}>;
@group(0) @binding(8) var<uniform> p: P;
${flashConstants(c)}
${wgArrays(c, [
  ["ks", "rows"],
  ["vs", "rows"],
  ["qs", "inner"],
  ["dos", "inner"],
  ["ps", "tile"],
  ["dss", "tile"],
  ["lq", "vec"],
  ["dq_", "vec"],
])}
${ENTRY}
  let k0 = wid.x * ROWS;
  let kj = k0 + r;
  ${loadTile("ks", "k", "kBase", "k0", "ROWS", "p.tk")}
  ${loadTile("vs", "v", "kBase", "k0", "ROWS", "p.tk")}
  var acck: array<f32, DPT>;
  var accv: array<f32, DPT>;
  // Causal: key k0 is first seen by query k0 − off; earlier query tiles are skipped.
  var qStart = 0u;
  if (causal && k0 > p.off) { qStart = ((k0 - p.off) / INNER) * INNER; }
  for (var qb = qStart; qb < p.tq; qb += INNER) {
    let nq = min(INNER, p.tq - qb);
    workgroupBarrier();
    ${loadTile("qs", "q", "qBase", "qb", "INNER", "p.tq", " * p.scale")}
    ${loadTile("dos", "dout", "qBase", "qb", "INNER", "p.tq")}
    for (var e = lid; e < nq; e += NT) {
      lq[e] = lse[bh * p.tq + qb + e];
      dq_[e] = dlt[bh * p.tq + qb + e];
    }
    workgroupBarrier();
    for (var ii = t; ii < nq; ii += TPR) {
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.dh; d++) {
        s += qs[ii * DS + d] * ks[r * DS + d];
        dp += dos[ii * DS + d] * vs[r * DS + d];
      }
      let ok = kj < p.tk && (!causal || kj <= qb + ii + p.off);
      let pv = select(0.0, exp(s - lq[ii]), ok);
      ps[r * INNER + ii] = pv;
      dss[r * INNER + ii] = pv * (dp - dq_[ii]);
    }
    workgroupBarrier();
    for (var ii = 0u; ii < nq; ii++) {
      let pv = ps[r * INNER + ii];
      let dsv = dss[r * INNER + ii];
      for (var u = 0u; u < DPT; u++) {
        let d = t + u * TPR;
        if (d < p.dh) {
          accv[u] += pv * dos[ii * DS + d];
          acck[u] += dsv * qs[ii * DS + d];
        }
      }
    }
  }
  if (kj < p.tk) {
    for (var u = 0u; u < DPT; u++) {
      let d = t + u * TPR;
      if (d < p.dh) {
        dk[kBase + kj * p.dh + d] = ${t}(acck[u]);
        dv[kBase + kj * p.dh + d] = ${t}(accv[u]);
      }
    }
  }
}`;
}

/** D = rowsum(dO∘O), one thread per row, f32. */
function deltaWgsl(t: DType): string {
  return `${header(t)}
struct P { rows: u32, stride: u32, dh: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> o: array<${t}>;
@group(0) @binding(1) var<storage, read> dout: array<${t}>;
@group(0) @binding(2) var<storage, read_write> dlt: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.rows) { return; }
  var acc = 0.0;
  for (var d = 0u; d < p.dh; d++) { acc += f32(o[i * p.dh + d]) * f32(dout[i * p.dh + d]); }
  dlt[i] = acc;
}`;
}

function flashKey(pass: FlashPass, c: FlashConfig): string {
  return `flash_${pass}_${c.dtype}_dh${c.maxDh}_r${c.tiles.rows}_i${c.tiles.inner}`;
}

/** Workgroup grid: blocks along x, batch·heads over y (and z past the per-dimension limit). */
function flashGrid(ctx: WebGpuBackend, blocks: number, nbh: number): [number, number, number] {
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.min(nbh, maxWg);
  return [blocks, y, y > 0 ? Math.ceil(nbh / y) : 0];
}

function flashParams(q: GpuView, k: GpuView, ybh: number, a: AttentionAttrs) {
  const [b, h, tq, dh] = q.shape;
  const tk = k.shape[2];
  return params()
    .u32(tq, tk, b * h, ybh)
    .f32(a.scale)
    .u32(Math.max(0, tk - tq), a.causal ? 1 : 0, dh);
}

// ---------------------------------------------------------------------------------------------
// rope3d

/** cos/sin tables per (grid, sections, theta), uploaded once per device and reused. */
interface RopeTable {
  buf: GPUBuffer;
  offsets: number[];
}
const ropeTables = new WeakMap<WebGpuBackend, Map<string, RopeTable>>();
/** Tables kept per device; the least recently used one goes back to the pool past this. */
const ROPE_TABLES_KEPT = 64;

/**
 * Host-computed (f64) cos/sin of every (axis, position, pair) angle: WGSL sin/cos lose accuracy
 * on large arguments on some GPUs, and the table is tiny (Σ grid[a]·sections[a]/2 pairs).
 * Returns the table and each axis's offset (in pairs).
 */
export function ropeTable(a: Rope3dAttrs): { data: Float32Array; offsets: number[] } {
  const offsets: number[] = [];
  let total = 0;
  for (let axis = 0; axis < 3; axis++) {
    offsets.push(total);
    total += a.grid[axis] * (a.sections[axis] / 2);
  }
  const data = new Float32Array(Math.max(2, 2 * total));
  for (let axis = 0; axis < 3; axis++) {
    const half = a.sections[axis] / 2;
    for (let pos = 0; pos < a.grid[axis]; pos++) {
      for (let i = 0; i < half; i++) {
        const angle = pos * ropeFrequency(i, a.sections[axis], a.theta);
        const at = 2 * (offsets[axis] + pos * half + i);
        data[at] = Math.cos(angle);
        data[at + 1] = Math.sin(angle);
      }
    }
  }
  return { data, offsets };
}

function ropeTableBuffer(ctx: WebGpuBackend, a: Rope3dAttrs): RopeTable {
  let cache = ropeTables.get(ctx);
  if (!cache) ropeTables.set(ctx, (cache = new Map()));
  const key = `${a.grid.join(",")}|${a.sections.join(",")}|${a.theta}`;
  let table = cache.get(key);
  if (table) {
    cache.delete(key);
  } else {
    const { data, offsets } = ropeTable(a);
    table = { buf: ctx.upload(data, "f32") as GPUBuffer, offsets };
    if (cache.size >= ROPE_TABLES_KEPT) {
      const [oldKey, old] = cache.entries().next().value as [string, RopeTable];
      cache.delete(oldKey);
      ctx.release(old.buf);
    }
  }
  // Re-inserted last: a Map iterates in insertion order, so the first entry is the stalest.
  cache.set(key, table);
  return table;
}

// ---------------------------------------------------------------------------------------------

const WG = 256;

export const attentionGpu = {
  softmax(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[]) {
    const t = x.dtype;
    const { n, rows, gx, gy } = softmaxRows(ctx, y);
    const wg = rowThreads(n);
    const pipe = ctx.pipeline(
      `softmax_${t}_${wg}`,
      () => `${header(t)}
struct P { rows: u32, stride: u32, n: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<uniform> p: P;
${rowReduceFns(wg)}
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.stride;
  if (row >= p.rows) { return; }
  let base = row * p.n;
  var m = -3.4028234663852886e38;
  for (var j = lid; j < p.n; j += ${wg}u) { m = max(m, f32(x[base + j])); }
  m = wg_reduce(m, lid, true);
  var s = 0.0;
  for (var j = lid; j < p.n; j += ${wg}u) { s += exp(f32(x[base + j]) - m); }
  let inv = 1.0 / wg_reduce(s, lid, false);
  for (var j = lid; j < p.n; j += ${wg}u) { y[base + j] = ${t}(exp(f32(x[base + j]) - m) * inv); }
}`,
    );
    ctx.dispatch(pipe, [x.storage, y.storage], params().u32(rows, gx, n, 0), [gx, gy]);
  },

  softmax_backward(ctx: WebGpuBackend, [y, dy]: GpuView[], [dx]: GpuView[]) {
    const t = y.dtype;
    const { n, rows, gx, gy } = softmaxRows(ctx, y);
    const wg = rowThreads(n);
    const pipe = ctx.pipeline(
      `softmax_bwd_${t}_${wg}`,
      () => `${header(t)}
struct P { rows: u32, stride: u32, n: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> y: array<${t}>;
@group(0) @binding(1) var<storage, read> dy: array<${t}>;
@group(0) @binding(2) var<storage, read_write> dx: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
${rowReduceFns(wg)}
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.stride;
  if (row >= p.rows) { return; }
  let base = row * p.n;
  var s = 0.0;
  for (var j = lid; j < p.n; j += ${wg}u) { s += f32(dy[base + j]) * f32(y[base + j]); }
  let dot = wg_reduce(s, lid, false);
  for (var j = lid; j < p.n; j += ${wg}u) {
    let yj = f32(y[base + j]);
    dx[base + j] = ${t}(yj * (f32(dy[base + j]) - dot));
  }
}`,
    );
    ctx.dispatch(pipe, [y.storage, dy.storage, dx.storage], params().u32(rows, gx, n, 0), [gx, gy]);
  },

  attention(ctx: WebGpuBackend, [q, k, v]: GpuView[], [o, lse]: GpuView[], a: AttentionAttrs) {
    const [b, h, tq, dh] = q.shape;
    const cfg = flashVariant(ctx, "forward", dh, q.dtype);
    const pipe = ctx.pipeline(flashKey("forward", cfg), () => flashForwardWgsl(cfg));
    const grid = flashGrid(ctx, Math.ceil(tq / cfg.tiles.rows), b * h);
    ctx.dispatch(
      pipe,
      [q.storage, k.storage, v.storage, o.storage, lse.storage],
      flashParams(q, k, grid[1], a),
      grid,
    );
  },

  attention_backward(
    ctx: WebGpuBackend,
    [q, k, v, o, lse, dO]: GpuView[],
    [dq, dk, dv]: GpuView[],
    a: AttentionAttrs,
  ) {
    const [b, h, tq, dh] = q.shape;
    const tk = k.shape[2];
    const t = q.dtype;
    const rows = b * h * tq;
    // D = rowsum(dO∘O) into a scratch buffer; the dispatches below read it in queue order, so it
    // can go back to the pool as soon as they are encoded.
    const delta = ctx.alloc(rows, "f32") as GPUBuffer;
    const deltaPipe = ctx.pipeline(`flash_delta_${t}`, () => deltaWgsl(t));
    const [gx, gy] = ctx.grid(rows, 64);
    ctx.dispatch(deltaPipe, [o.storage, dO.storage, delta], params().u32(rows, gx * 64, dh, 0), [
      gx,
      gy,
    ]);
    const reads = [q.storage, k.storage, v.storage, lse.storage, delta, dO.storage];
    const dkv = flashVariant(ctx, "dkv", dh, t);
    const dkvPipe = ctx.pipeline(flashKey("dkv", dkv), () => flashDkvWgsl(dkv));
    const dkvGrid = flashGrid(ctx, Math.ceil(tk / dkv.tiles.rows), b * h);
    ctx.dispatch(
      dkvPipe,
      [...reads, dk.storage, dv.storage],
      flashParams(q, k, dkvGrid[1], a),
      dkvGrid,
    );
    const dqc = flashVariant(ctx, "dq", dh, t);
    const dqPipe = ctx.pipeline(flashKey("dq", dqc), () => flashDqWgsl(dqc));
    const dqGrid = flashGrid(ctx, Math.ceil(tq / dqc.tiles.rows), b * h);
    ctx.dispatch(dqPipe, [...reads, dq.storage], flashParams(q, k, dqGrid[1], a), dqGrid);
    ctx.release(delta);
  },

  rope3d(ctx: WebGpuBackend, [x]: GpuView[], [y]: GpuView[], a: Rope3dAttrs) {
    const t = x.dtype;
    const dh = x.shape[x.shape.length - 1];
    const tt = x.shape[x.shape.length - 2];
    const { buf, offsets } = ropeTableBuffer(ctx, a);
    const pipe = ctx.pipeline(
      `rope3d_${t}`,
      () => `${header(t)}
struct P {
  pairs: u32, stride: u32, half: u32, t: u32, gh: u32, gw: u32, end0: u32, end1: u32,
  h0: u32, h1: u32, h2: u32, off0: u32, off1: u32, off2: u32, sign: f32, pad: u32,
}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<${t}>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.pairs) { return; }
  let kp = i % p.half;
  let tok = (i / p.half) % p.t;
  var at = 0u;
  if (kp < p.end0) {
    at = p.off0 + (tok / (p.gh * p.gw)) * p.h0 + kp;
  } else if (kp < p.end1) {
    at = p.off1 + ((tok / p.gw) % p.gh) * p.h1 + (kp - p.end0);
  } else {
    at = p.off2 + (tok % p.gw) * p.h2 + (kp - p.end1);
  }
  let c = table[2u * at];
  let s = p.sign * table[2u * at + 1u];
  let x0 = f32(x[2u * i]);
  let x1 = f32(x[2u * i + 1u]);
  y[2u * i] = ${t}(x0 * c - x1 * s);
  y[2u * i + 1u] = ${t}(x0 * s + x1 * c);
}`,
    );
    const pairs = x.size / 2;
    const [gx, gy] = ctx.grid(pairs, WG);
    const [h0, h1, h2] = a.sections.map((s) => s / 2);
    const u = params()
      .u32(pairs, gx * WG, dh / 2, tt, a.grid[1], a.grid[2], h0, h0 + h1)
      .u32(h0, h1, h2, ...offsets)
      .f32(a.inverse ? -1 : 1)
      .u32(0);
    ctx.dispatch(pipe, [x.storage, buf, y.storage], u, [gx, gy]);
  },
};
