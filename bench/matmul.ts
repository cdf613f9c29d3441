/**
 * Matmul throughput: the WGSL GEMM on whatever WebGPU adapter exists (f32, and f16 where the
 * adapter has it) next to the CPU reference kernel in the same run.
 *
 *   node --import tsx bench/matmul.ts [size ...]
 *
 * Sizes are square M = N = K. Defaults: 128 256 512 on a software adapter (lavapipe), else
 * 1024 2048 4096. The CPU kernel is timed only up to 1024 (it runs at about 1 GFLOP/s).
 */
import { createDevice, type Device } from "../src/devices.ts";
import type { DType } from "../src/tensor/dtype.ts";
import { tidy } from "../src/tensor/engine.ts";
import { matmul } from "../src/tensor/ops/matmul.ts";
import { Rng } from "../src/util/rng.ts";

const CPU_MAX = 1024;
/** Keep timing an operation until this many seconds have passed. */
const MIN_SECONDS = 0.5;

async function gflops(device: Device, n: number, dtype: DType): Promise<number> {
  const rng = new Rng(n);
  const a = device.randn([n, n], rng, 1, dtype);
  const b = device.randn([n, n], rng, 1, dtype);
  const run = () => tidy(() => void matmul(a, b));
  // Warm up: compiles the pipeline and fills the buffer pool.
  run();
  await device.sync();
  let reps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_SECONDS * 1000) {
    const batch = Math.max(1, reps);
    for (let i = 0; i < batch; i++) run();
    await device.sync();
    reps += batch;
    elapsed = performance.now() - start;
  }
  a.dispose();
  b.dispose();
  return (2 * n ** 3 * reps) / (elapsed / 1000) / 1e9;
}

async function main(): Promise<void> {
  const gpu = await createDevice({ kind: "webgpu" }).catch((err: Error) => {
    console.log(`no WebGPU adapter (${err.message}); timing the CPU kernel only`);
    return null;
  });
  const cpu = await createDevice({ kind: "cpu" });
  const software = gpu ? /llvmpipe|lavapipe|swiftshader/i.test(gpu.backend.description) : true;
  const args = process.argv.slice(2).map(Number);
  if (args.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`bench/matmul: sizes must be positive integers, got ${process.argv.slice(2)}`);
  }
  const sizes = args.length ? args : software ? [128, 256, 512] : [1024, 2048, 4096];
  console.log(`webgpu: ${gpu ? gpu.backend.description : "none"}`);
  console.log(`cpu:    ${cpu.backend.description}`);
  const dtypes: DType[] = gpu?.supportsF16 ? ["f32", "f16"] : ["f32"];
  const header = ["size", ...dtypes.map((d) => `webgpu ${d}`), "cpu f32"];
  console.log(header.map((h) => h.padStart(12)).join(""));
  for (const n of sizes) {
    const cells = [`${n}³`];
    for (const d of dtypes) cells.push(gpu ? (await gflops(gpu, n, d)).toFixed(2) : "-");
    cells.push(n <= CPU_MAX ? (await gflops(cpu, n, "f32")).toFixed(2) : "-");
    console.log(cells.map((c) => c.padStart(12)).join(""));
  }
  console.log("(GFLOP/s, 2·n³ FLOPs per matmul)");
  gpu?.destroy();
}

await main();
