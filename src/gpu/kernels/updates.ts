/**
 * Building blocks shared by the update and reduction kernels of the training ops, the losses and
 * assign: a workgroup tree reduction and a plain elementwise kernel with its own uniforms.
 */
import type { DType } from "../../tensor/dtype.ts";
import type { WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import { header } from "../wgsl.ts";

/** Threads per workgroup of the elementwise updates. */
export const WG = 256;
/** Threads per workgroup of the reductions (grad statistics, norms, one softmax row). */
export const RED = 64;

/** A workgroup tree reduction of `red[0..RED)` with `op` (a WGSL expression of a and b). */
export function treeReduce(op: string): string {
  return `for (var s = ${RED / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { let a = red[lid]; let b = red[lid + s]; red[lid] = ${op}; }
    workgroupBarrier();
  }`;
}

/** An elementwise kernel over `n` elements: the body sees `i` (already range-checked). */
export function elementwise(
  ctx: WebGpuBackend,
  key: string,
  dtypes: DType[],
  bindings: string,
  body: string,
  extraUniform: string,
  buffers: GPUBuffer[],
  n: number,
  fill: (p: ReturnType<typeof params>) => void,
): void {
  const pipe = ctx.pipeline(
    key,
    () => `${header(...dtypes)}
struct P { n: u32, stride: u32, ${extraUniform} }
${bindings}
@group(0) @binding(${buffers.length}) var<uniform> p: P;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
  ${body}
}`,
  );
  const [gx, gy] = ctx.grid(n, WG);
  const u = params().u32(n, gx * WG);
  fill(u);
  ctx.dispatch(pipe, buffers, u, [gx, gy]);
}
