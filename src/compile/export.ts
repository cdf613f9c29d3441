/**
 * Writes a function of tensors (a model's sampling step, an encoder, a decoder) as a standard
 * ONNX model that any ONNX runtime loads: its arguments and results become named graph inputs
 * and outputs, and the weights it reads become initializers stored as external data beside the
 * model (`<name>.onnx.data`), so the graph file stays small. The function is traced on the onnx
 * device exactly as `compile` traces it; it must not update state in place (a sampling graph
 * does not train).
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Device } from "../tensor/device.ts";
import { DeviceError } from "../tensor/errors.ts";
import type { StepArgs, StepResult } from "./compile.ts";
import { traceStep } from "./compile.ts";
import type { OnnxTensor } from "./proto.ts";

export interface ExportedModel {
  /** Path of the .onnx file and of its external weights. */
  model: string;
  data: string;
  inputs: string[];
  outputs: string[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Traces `fn` on `args` (their shapes fix the graph's input shapes) and writes
 * `<dir>/<name>.onnx` and `<dir>/<name>.onnx.data`. Result names come from the keys of the
 * record `fn` returns ("out0", … for a tensor or an array). Files are written atomically.
 */
export async function exportOnnx<A extends { [K in keyof A]: unknown }>(
  fn: (args: A) => StepResult,
  args: A,
  dir: string,
  name: string,
  device: Device,
): Promise<ExportedModel> {
  if (!NAME_RE.test(name))
    throw new DeviceError(`export: model name "${name}" must be letters, digits, . _ - (no path)`);
  const traced = traceStep(
    fn as unknown as (a: StepArgs) => StepResult,
    device,
    args as unknown as StepArgs,
    [],
    {
      arg: (k) => k,
      result: (i, key) => key ?? `out${i}`,
    },
  );
  const { trace } = traced;
  if (trace.written.size > 0)
    throw new DeviceError(
      `export: ${name} writes ${trace.written.size} tensors in place (a training step?); export a function without state updates`,
    );
  const b = trace.b;
  const modelPath = join(dir, `${name}.onnx`);
  const dataPath = `${modelPath}.data`;
  // State inputs (weights) become initializers whose bytes live in the data file.
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const weights = new Set<string>();
  for (const s of trace.stateIn) {
    const data = s.box.data;
    if (!data) continue;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const t: OnnxTensor = {
      name: s.name,
      dims: [...s.shape],
      type: s.dtype === "i32" ? "int32" : "float",
      external: { location: basename(dataPath), offset, length: bytes.length },
    };
    b.initializers.push(t);
    weights.add(s.name);
    chunks.push(bytes.slice());
    offset += bytes.length;
  }
  const inputs = b.inputs.filter((i) => !weights.has(i.name));
  b.inputs.length = 0;
  b.inputs.push(...inputs);
  const model = b.encode(name);
  const fed = b.inputs.map((i) => i.name);
  await mkdir(dir, { recursive: true });
  const tmpModel = `${modelPath}.${process.pid}.partial`;
  const tmpData = `${dataPath}.${process.pid}.partial`;
  try {
    await writeFile(tmpData, Buffer.concat(chunks));
    await writeFile(tmpModel, model);
    await rename(tmpData, dataPath);
    await rename(tmpModel, modelPath);
  } catch (err) {
    await rm(tmpData, { force: true });
    await rm(tmpModel, { force: true });
    throw err;
  }
  return {
    model: modelPath,
    data: dataPath,
    inputs: fed,
    outputs: traced.results.map((r) => r.name),
  };
}
