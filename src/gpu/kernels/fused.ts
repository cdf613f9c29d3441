/**
 * WGSL kernel generator for fused elementwise programs: one thread per output element loads
 * each input once (directly, as a scalar, or through broadcast strides), evaluates the steps in
 * f32 registers and stores the last one. The generated source is the pipeline's cache key; it
 * names constants by slot (`cst(k)`), their values travel in the uniform block.
 */
import {
  type FusedAttrs,
  type FusedOperand,
  MAX_FUSED_CONSTANTS,
  MAX_FUSED_INPUTS,
} from "../../tensor/ops/fused.ts";
import { sameShape, stridesOf } from "../../tensor/shape.ts";
import type { GpuView, WebGpuBackend } from "../backend.ts";
import { params } from "../params.ts";
import {
  alignedStrides,
  BINARY_WGSL,
  DIM_FN,
  header,
  MATH_FNS,
  packDims,
  UNARY_WGSL,
} from "../wgsl.ts";

const WG = 256;

type InputMode = "same" | "scalar" | "bcast";

/** The WGSL module for a program over inputs of the given modes, and its constants in slot order. */
export function fusedSource(
  attrs: FusedAttrs,
  dtype: string,
  modes: readonly InputMode[],
): { code: string; constants: number[] } {
  const constants: number[] = [];
  const constant = (v: number) => {
    constants.push(v);
    return `cst(${constants.length - 1}u)`;
  };
  const operand = (o: FusedOperand) => {
    if (typeof o === "number") return constant(o);
    return "input" in o ? `v${o.input}` : `r${o.step}`;
  };
  const body = attrs.steps.map((s, k) => {
    const expr =
      "unary" in s
        ? UNARY_WGSL[s.unary](
            operand(s.x),
            s.unary === "affine" ? constant(s.alpha ?? 1) : "",
            s.unary === "affine" ? constant(s.beta ?? 0) : "",
          )
        : BINARY_WGSL[s.binary](operand(s.a), operand(s.b));
    return `  let r${k}: f32 = ${expr};`;
  });
  const n = modes.length;
  const bindings = modes.map(
    (_, j) => `@group(0) @binding(${j}) var<storage, read> x${j}: array<${dtype}>;`,
  );
  const anyBcast = modes.includes("bcast");
  const offsets = anyBcast
    ? `  var rem = i;
${modes.map((m, j) => (m === "bcast" ? `  var o${j} = 0u;\n` : "")).join("")}  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let c = rem % dim(p.shape, u32(d));
    rem = rem / dim(p.shape, u32(d));
${modes.map((m, j) => (m === "bcast" ? `    o${j} += c * dim(p.s${j}, u32(d));\n` : "")).join("")}  }
`
    : "";
  const loads = modes.map((m, j) => {
    const index = m === "same" ? "i" : m === "scalar" ? "0u" : `o${j}`;
    return `  let v${j} = f32(x${j}[${index}]);`;
  });
  const code = `${header(dtype as "f32" | "f16")}
struct P {
  n: u32, stride: u32, rank: u32, pad: u32,
  shape: array<vec4<u32>, 2>,
  s0: array<vec4<u32>, 2>, s1: array<vec4<u32>, 2>, s2: array<vec4<u32>, 2>, s3: array<vec4<u32>, 2>,
  consts: array<vec4<f32>, ${MAX_FUSED_CONSTANTS / 4}>,
}
${bindings.join("\n")}
@group(0) @binding(${n}) var<storage, read_write> y: array<${dtype}>;
@group(0) @binding(${n + 1}) var<uniform> p: P;
${DIM_FN}
fn cst(k: u32) -> f32 { return p.consts[k / 4u][k % 4u]; }
${MATH_FNS}
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) { return; }
${offsets}${loads.join("\n")}
${body.join("\n")}
  y[i] = ${dtype}(r${attrs.steps.length - 1});
}`;
  return { code, constants };
}

export const fusedGpu = {
  fused(ctx: WebGpuBackend, inputs: GpuView[], [y]: GpuView[], attrs: FusedAttrs) {
    if (y.size === 0) return;
    const modes = inputs.map(
      (x): InputMode => (sameShape(x.shape, y.shape) ? "same" : x.size === 1 ? "scalar" : "bcast"),
    );
    const { code, constants } = fusedSource(attrs, y.dtype, modes);
    const pipe = ctx.pipeline(`fused:${code}`, () => code);
    const [gx, gy] = ctx.grid(y.size, WG);
    const u = params().u32(y.size, gx * WG, y.shape.length, 0);
    packDims(u, y.shape);
    for (let j = 0; j < MAX_FUSED_INPUTS; j++) {
      const x = inputs[j];
      packDims(u, x ? alignedStrides(x.shape, y.shape, stridesOf(x.shape)) : []);
    }
    u.align16();
    for (let k = 0; k < MAX_FUSED_CONSTANTS; k++) u.f32(constants[k] ?? 0);
    ctx.dispatch(pipe, [...inputs.map((x) => x.storage), y.storage], u, [gx, gy]);
  },
};
