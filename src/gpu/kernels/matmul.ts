/**
 * WGSL GEMM: one tiled kernel, specialised by small element loaders, serves the batched matmul
 * here and the implicit-GEMM convolutions in conv.ts.
 *
 * A problem is C[batch, m, n] = Σ_k A(batch, m, k) · B(batch, k, n), where A and B are whatever
 * the spec's `load_a` / `load_b` functions read (a strided matrix, an im2col gather) and C goes
 * through the spec's `store_c` epilogue (bias, activation, dtype). The kernel choice goes through
 * GEMM_VARIANTS, so a faster variant (f16 subgroup matrices on the H100, issue 3) can take over
 * the problems it supports without touching the ops that build them.
 *
 * Cost of one problem: 2·M·N·K FLOPs per batch entry. The tiled kernel reads every element of A
 * once per 64-column tile of C and every element of B once per 64-row tile, so global reads are
 * M·N·K·(1/64 + 1/64) elements (4 FLOP/byte of traffic in f32, 8 in f16), and M·N elements are
 * written once (twice when the pre-activation is saved).
 */
import type { DType } from "../../tensor/dtype.ts";
import { DeviceError } from "../../tensor/errors.ts";
import { type MatmulAttrs, matmulDims } from "../../tensor/ops/matmul.ts";
import { broadcastStrides, numel } from "../../tensor/shape.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { type Params, params } from "../params.ts";
import { DIM_FN, header, MATH_FNS, packDims } from "../wgsl.ts";

/** One storage buffer of a GEMM kernel, bound in the order listed. */
export interface GemmBinding {
  name: string;
  type: DType;
  write?: boolean;
}

/**
 * What a GEMM looks like to the kernels, apart from its sizes. `code` is module-scope WGSL that
 * defines (reading the common uniform block `p`: p.M, p.N, p.K, and the spec's own fields):
 *   fn batch_start(batch: u32)            once per invocation, before any load (set base offsets)
 *   fn load_a(m: u32, k: u32) -> f32      called only with m < M, k < K
 *   fn load_b(k: u32, n: u32) -> f32      called only with k < K, n < N
 *   fn store_c(m: u32, n: u32, acc: f32)  called once per output with m < M, n < N
 * Loaders return 0 for elements outside the real operand (zero padding of a convolution).
 */
export interface GemmSpec {
  /** Pipeline cache key: must name every specialisation of the code, bindings and dtypes. */
  key: string;
  bindings: GemmBinding[];
  /** Extra members of the uniform struct, after the common ones (WGSL field declarations). */
  uniforms: string;
  code: string;
}

/** Sizes and buffers of one GEMM call. */
export interface GemmLaunch {
  M: number;
  N: number;
  K: number;
  batch: number;
  /** The index along which A / B are contiguous in memory: sets how threads load a tile. */
  aContiguous: "m" | "k";
  bContiguous: "k" | "n";
  /** The spec's bindings, in order. */
  buffers: GPUBuffer[];
  /** Appends the values of the spec's extra uniform fields. */
  uniforms?: (p: Params) => void;
}

/** A kernel that can run GEMM problems. */
export interface GemmVariant {
  readonly name: string;
  supports(ctx: WebGpuBackend, spec: GemmSpec, launch: GemmLaunch): boolean;
  encode(ctx: WebGpuBackend, spec: GemmSpec, launch: GemmLaunch): void;
}

// Tiled kernel geometry: a 64×64 tile of C per workgroup of 16×16 threads, each thread a 4×4
// block (16 f32 accumulators); K advances 16 at a time through workgroup memory.
const BM = 64;
const BN = 64;
const BK = 16;
const THREADS = 256;
/** vec4s per k-row of a workgroup tile: 16 plus one of padding to spread bank accesses. */
const ROW = BM / 4 + 1;

/**
 * The common uniform fields every GEMM kernel starts with (48 bytes). `k_tile` (always BK) and
 * `loads` (always BM·BK/THREADS) bound the inner loops at run time: Mesa's shader compiler
 * fully unrolls constant-bound loops, which made each pipeline take ~4× longer to compile on
 * lavapipe (seconds per kernel variant); GPU drivers still unroll partially.
 * `a_k_fast` / `b_k_fast` say whether A / B are contiguous along k, which sets the order in
 * which threads load a tile so that neighbouring threads read neighbouring addresses.
 */
const COMMON_UNIFORMS = `M: u32, N: u32, K: u32, tiles_n: u32, tiles: u32, tile_stride: u32, batch0: u32,
  k_tile: u32, loads: u32, a_k_fast: u32, b_k_fast: u32, pad0: u32,`;

/**
 * Per K step of 16 a workgroup loads 64×16 elements of A and 16×64 of B (4 of each per thread)
 * and each thread does 16·16 multiply-adds from 2·16 vec4 workgroup reads.
 */
function tiledWgsl(spec: GemmSpec): string {
  const decls = spec.bindings
    .map(
      (b, i) =>
        `@group(0) @binding(${i}) var<storage, ${b.write ? "read_write" : "read"}> ${b.name}: array<${b.type}>;`,
    )
    .join("\n");
  return `${header(...spec.bindings.map((b) => b.type))}
struct P { ${COMMON_UNIFORMS} ${spec.uniforms} }
${decls}
@group(0) @binding(${spec.bindings.length}) var<uniform> p: P;
${spec.code}
var<workgroup> a_tile: array<vec4<f32>, ${BK * ROW}>;
var<workgroup> b_tile: array<vec4<f32>, ${BK * ROW}>;

// Position (row of the 64-wide side, k) of load slot i of thread tid in a 64×16 tile: threads
// next to each other take neighbouring k when the operand is contiguous along k, else
// neighbouring rows.
fn tile_slot(tid: u32, i: u32, k_fast: bool) -> vec2<u32> {
  if (k_fast) { return vec2<u32>(tid / ${BK}u + i * ${THREADS / BK}u, tid % ${BK}u); }
  return vec2<u32>(tid % ${BM}u, tid / ${BM}u + i * ${THREADS / BM}u);
}

fn store_row(m: u32, n: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < min(p.N - n, 4u); j++) { store_c(m, n + j, v[j]); }
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let tile = wid.x + wid.y * p.tile_stride;
  if (tile >= p.tiles) { return; }
  batch_start(wid.z + p.batch0);
  let m0 = (tile / p.tiles_n) * ${BM}u;
  let n0 = (tile % p.tiles_n) * ${BN}u;
  let tx = tid % 16u;
  let ty = tid / 16u;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {
    for (var i = 0u; i < p.loads; i++) {
      let a_at = tile_slot(tid, i, p.a_k_fast != 0u);
      let m = m0 + a_at.x;
      let k = k0 + a_at.y;
      var v = 0.0;
      if (m < p.M && k < p.K) { v = load_a(m, k); }
      a_tile[a_at.y * ${ROW}u + a_at.x / 4u][a_at.x % 4u] = v;
      let b_at = tile_slot(tid, i, p.b_k_fast != 0u);
      let n = n0 + b_at.x;
      let kb = k0 + b_at.y;
      var w = 0.0;
      if (n < p.N && kb < p.K) { w = load_b(kb, n); }
      b_tile[b_at.y * ${ROW}u + b_at.x / 4u][b_at.x % 4u] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < p.k_tile; kk++) {
      let av = a_tile[kk * ${ROW}u + ty];
      let bv = b_tile[kk * ${ROW}u + tx];
      c0 += av.x * bv;
      c1 += av.y * bv;
      c2 += av.z * bv;
      c3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let m = m0 + ty * 4u;
  let n = n0 + tx * 4u;
  if (n >= p.N) { return; }
  store_row(m, n, c0);
  store_row(m + 1u, n, c1);
  store_row(m + 2u, n, c2);
  store_row(m + 3u, n, c3);
}`;
}

/** The portable kernel: any adapter, f32 or f16 storage, f32 accumulation. */
const tiledVariant: GemmVariant = {
  name: "tiled64",
  supports: () => true,
  encode(ctx, spec, launch) {
    const pipe = ctx.pipeline(`gemm_${this.name}_${spec.key}`, () => tiledWgsl(spec));
    const tilesN = Math.ceil(launch.N / BN);
    const tiles = Math.ceil(launch.M / BM) * tilesN;
    const [gx, gy] = ctx.grid(tiles, 1);
    const maxZ = ctx.limits.maxComputeWorkgroupsPerDimension;
    // Batches beyond the per-dimension limit go in several dispatches, each with its own offset.
    for (let b0 = 0; b0 < launch.batch; b0 += maxZ) {
      const u = params()
        .u32(launch.M, launch.N, launch.K, tilesN, tiles, gx, b0)
        .u32(BK, (BM * BK) / THREADS, launch.aContiguous === "k" ? 1 : 0)
        .u32(launch.bContiguous === "k" ? 1 : 0, 0);
      launch.uniforms?.(u);
      ctx.dispatch(pipe, launch.buffers, u, [gx, gy, Math.min(maxZ, launch.batch - b0)]);
    }
  },
};

/**
 * GEMM kernel variants, most specialised first; the first that supports a problem runs it.
 * Issue 3 adds an f16 subgroup-matrix (tensor-core) variant in front of the tiled one, chosen
 * when ctx.features.has("subgroup-matrix") and every binding is f16; it can fill its workgroup
 * tiles through the same load_a / load_b / store_c functions, so matmul and the convolutions
 * both get it.
 */
const GEMM_VARIANTS: readonly GemmVariant[] = [tiledVariant];

/** Encodes one GEMM problem with the first variant that supports it on this device. */
export function encodeGemm(ctx: WebGpuBackend, spec: GemmSpec, launch: GemmLaunch): void {
  if (launch.M === 0 || launch.N === 0 || launch.batch === 0) return;
  const variant = GEMM_VARIANTS.find((v) => v.supports(ctx, spec, launch));
  if (!variant) throw new DeviceError(`webgpu: no GEMM kernel variant supports ${spec.key}`);
  variant.encode(ctx, spec, launch);
}

/**
 * Merges neighbouring batch dimensions that both operands step through as one (and drops
 * size-1 ones), so that the kernel's per-batch index math stays short and within MAX_RANK.
 * Strides are in elements, 0 where an operand is broadcast.
 */
function collapseBatch(
  shape: number[],
  sa: number[],
  sb: number[],
): { shape: number[]; sa: number[]; sb: number[] } {
  const out = { shape: [] as number[], sa: [] as number[], sb: [] as number[] };
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = out.shape.length - 1;
    if (last >= 0 && out.sa[last] === sa[d] * shape[d] && out.sb[last] === sb[d] * shape[d]) {
      out.shape[last] *= shape[d];
      out.sa[last] = sa[d];
      out.sb[last] = sb[d];
    } else {
      out.shape.push(shape[d]);
      out.sa.push(sa[d]);
      out.sb.push(sb[d]);
    }
  }
  return out;
}

/** Activation codes of the epilogue's run-time switch (one pipeline serves all three). */
const ACT_CODE: Record<MatmulAttrs["act"], number> = { none: 0, gelu: 1, silu: 2 };

/**
 * The matmul op as a GEMM spec: loaders with run-time strides (so transposes share a pipeline),
 * bias + activation epilogue (activation chosen at run time), optionally saving the
 * pre-activation.
 */
function matmulSpec(dtype: DType, hasBias: boolean, savePre: boolean): GemmSpec {
  const bindings: GemmBinding[] = [
    { name: "a_in", type: dtype },
    { name: "b_in", type: dtype },
  ];
  if (hasBias) bindings.push({ name: "bias_in", type: dtype });
  bindings.push({ name: "y_out", type: dtype, write: true });
  if (savePre) bindings.push({ name: "pre_out", type: dtype, write: true });
  const code = `${DIM_FN}
${MATH_FNS}
fn activate(z: f32) -> f32 {
  switch p.act {
    case 1u: { return gelu_f(z); }
    case 2u: { return silu_f(z); }
    default: { return z; }
  }
}
var<private> off_a: u32;
var<private> off_b: u32;
var<private> off_c: u32;
fn batch_start(batch: u32) {
  var rem = batch;
  var oa = 0u;
  var ob = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = dim(p.batch_shape, u32(d));
    let c = rem % size;
    rem = rem / size;
    oa += c * dim(p.stride_a, u32(d));
    ob += c * dim(p.stride_b, u32(d));
  }
  off_a = oa;
  off_b = ob;
  off_c = batch * p.M * p.N;
}
fn load_a(m: u32, k: u32) -> f32 { return f32(a_in[off_a + m * p.a_m + k * p.a_k]); }
fn load_b(k: u32, n: u32) -> f32 { return f32(b_in[off_b + k * p.b_k + n * p.b_n]); }
fn store_c(m: u32, n: u32, acc: f32) {
  let z = acc${hasBias ? " + f32(bias_in[n])" : ""};
  let o = off_c + m * p.N + n;
  ${savePre ? `pre_out[o] = ${dtype}(z);` : ""}
  y_out[o] = ${dtype}(activate(z));
}`;
  return {
    key: `matmul_${dtype}_${hasBias ? "bias" : "nobias"}_${savePre ? "pre" : "nopre"}`,
    bindings,
    uniforms: `a_m: u32, a_k: u32, b_k: u32, b_n: u32, rank: u32, act: u32,
  batch_shape: array<vec4<u32>, 2>, stride_a: array<vec4<u32>, 2>, stride_b: array<vec4<u32>, 2>,`,
    code,
  };
}

export const matmulGpu = {
  matmul(ctx: WebGpuBackend, inputs: GpuView[], outputs: GpuView[], attrs: MatmulAttrs) {
    const [a, b, bias] = inputs;
    const [y, pre] = outputs;
    const { M, N, K, batchShape } = matmulDims("matmul", a, b, attrs.transA, attrs.transB);
    const { transA, transB } = attrs;
    const spec = matmulSpec(a.dtype, attrs.hasBias, pre !== undefined);
    const buffers = [a.storage, b.storage];
    if (bias) buffers.push(bias.storage);
    buffers.push(y.storage);
    if (pre) buffers.push(pre.storage);
    // Element strides of op(a) [M, K] and op(b) [K, N] within one matrix.
    const elementStrides = [transA ? 1 : K, transA ? M : 1, transB ? 1 : N, transB ? K : 1];
    const layout = {
      aContiguous: transA ? "m" : "k",
      bContiguous: transB ? "k" : "n",
    } as const;
    // With b shared by the whole batch and a not transposed, a's matrices are consecutive rows:
    // one GEMM with batch·M rows fills the tiles better than `batch` small ones.
    const fold = !transA && numel(b.shape.slice(0, -2)) === 1;
    const batch = numel(batchShape);
    const strides = (shape: readonly number[]) =>
      broadcastStrides(shape.slice(0, -2), batchShape).map(
        (s) => s * shape[shape.length - 1] * shape[shape.length - 2],
      );
    const dims = fold
      ? { shape: [], sa: [], sb: [] }
      : collapseBatch(batchShape, strides(a.shape), strides(b.shape));
    encodeGemm(ctx, spec, {
      M: fold ? batch * M : M,
      N,
      K,
      batch: fold ? 1 : batch,
      ...layout,
      buffers,
      uniforms: (u) => {
        u.u32(...elementStrides, dims.shape.length, ACT_CODE[attrs.act]);
        packDims(u, dims.shape);
        packDims(u, dims.sa);
        packDims(u, dims.sb);
      },
    });
  },
};
