import assert from "node:assert/strict";
import { it } from "node:test";
import { LOWERINGS } from "../src/compile/lower/index.ts";
import { gpuKernels } from "../src/gpu/kernels/index.ts";
import { cpuKernels } from "../src/tensor/cpu/kernels.ts";
import { OP_TABLE } from "../src/tensor/ops/index.ts";

it("every op in the table has a CPU and a WebGPU kernel (views excepted), an ONNX lowering, and names are unique", () => {
  const names = OP_TABLE.map((o) => o.name);
  assert.equal(new Set(names).size, names.length, `duplicate op names: ${names}`);
  for (const op of OP_TABLE) {
    if (op.view) continue;
    assert.ok(op.name in cpuKernels, `op ${op.name} has no CPU kernel`);
    assert.ok(op.name in gpuKernels, `op ${op.name} has no WebGPU kernel`);
  }
  for (const op of OP_TABLE) assert.ok(op.name in LOWERINGS, `op ${op.name} has no ONNX lowering`);
  for (const k of Object.keys(LOWERINGS))
    assert.ok(names.includes(k), `lowering ${k} is for no op`);
  for (const k of [...Object.keys(cpuKernels), ...Object.keys(gpuKernels)]) {
    assert.ok(names.includes(k), `kernel ${k} is not in the op table`);
  }
});
