import assert from "node:assert/strict";
import { it } from "node:test";
import { gpuKernels } from "../../gpu/kernels/index.ts";
import { cpuKernels } from "../cpu/kernels.ts";
import { OP_TABLE } from "./index.ts";

it("every op in the table has a CPU and a WebGPU kernel (views excepted), and names are unique", () => {
  const names = OP_TABLE.map((o) => o.name);
  assert.equal(new Set(names).size, names.length, `duplicate op names: ${names}`);
  for (const op of OP_TABLE) {
    if (op.view) continue;
    assert.ok(op.name in cpuKernels, `op ${op.name} has no CPU kernel`);
    assert.ok(op.name in gpuKernels, `op ${op.name} has no WebGPU kernel`);
  }
  for (const k of [...Object.keys(cpuKernels), ...Object.keys(gpuKernels)]) {
    assert.ok(names.includes(k), `kernel ${k} is not in the op table`);
  }
});
