/**
 * Every error the engine raises, triggered on purpose, with its message checked: shape and dtype
 * mismatches name the op and both operands, and running out of memory or losing the device gives
 * a clear error instead of a crash or a hang.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDevice, type Device } from "../src/devices.ts";
import type { WebGpuBackend } from "../src/gpu/backend.ts";
import { backward } from "../src/tensor/autograd.ts";
import { CpuBackend } from "../src/tensor/cpu/backend.ts";
import { runOp } from "../src/tensor/engine.ts";
import {
  DeviceError,
  DeviceLostError,
  DTypeError,
  OutOfMemoryError,
  ShapeError,
} from "../src/tensor/errors.ts";
import { attention } from "../src/tensor/ops/attention.ts";
import { conv3d } from "../src/tensor/ops/conv.ts";
import { add, cast, mul, unaryOp } from "../src/tensor/ops/elementwise.ts";
import { linear, matmul } from "../src/tensor/ops/matmul.ts";
import { layerNorm } from "../src/tensor/ops/norm.ts";
import { sum } from "../src/tensor/ops/reduce.ts";
import { reshape } from "../src/tensor/ops/shape.ts";
import type { Tensor } from "../src/tensor/tensor.ts";
import { choosePrecision } from "../src/train/mixed-precision.ts";
import { Trainer } from "../src/train/trainer.ts";

const WEBGPU = process.env.ZOETROPE_TEST_WEBGPU !== "0";

/** Rejects when `p` has not settled within `ms` (so that a hang fails the test instead of stalling it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

let shared: Promise<Device[]> | null = null;

/** The devices every device-independent check runs on (made once). */
function devices(): Promise<Device[]> {
  shared ??= (async () => {
    const out = [await createDevice({ kind: "cpu" })];
    if (WEBGPU) out.push(await createDevice({ kind: "webgpu" }));
    return out;
  })();
  return shared;
}

describe("shape mismatches name the op and both shapes", () => {
  it("matmul, linear, add (broadcast), conv3d, layernorm, attention, reshape", async () => {
    for (const d of await devices()) {
      const k = d.kind;
      assert.throws(
        () => matmul(d.zeros([3, 5]), d.zeros([4, 7])),
        (e: Error) =>
          e instanceof ShapeError &&
          /^matmul: inner dimensions differ \(5 vs 4\): a \[3, 5\] and b \[4, 7\]$/.test(e.message),
        k,
      );
      assert.throws(
        () => matmul(d.zeros([2, 3, 5]), d.zeros([4, 5, 7])),
        /matmul: batch dimensions do not broadcast \(2 vs 4\): a \[2, 3, 5\] and b \[4, 5, 7\]/,
      );
      assert.throws(
        () => linear(d.zeros([6, 8]), d.zeros([4, 9])),
        /linear: x \[6, 8\] has 8 input features but weight \[4, 9\] expects 9/,
      );
      assert.throws(
        () => add(d.zeros([7, 3]), d.zeros([5, 3])),
        (e: Error) =>
          e instanceof ShapeError &&
          /^add: shapes \[7, 3\] and \[5, 3\] do not broadcast \(dim 0: 7 vs 5\)$/.test(e.message),
      );
      assert.throws(
        () => conv3d(d.zeros([1, 3, 4, 8, 8]), d.zeros([6, 2, 3, 3, 3])),
        (e: Error) =>
          e instanceof ShapeError &&
          /^conv3d: input channels differ: x has 3, w expects 2 \(x \[1, 3, 4, 8, 8\], w \[6, 2, 3, 3, 3\]\)$/.test(
            e.message,
          ),
      );
      assert.throws(
        () => conv3d(d.zeros([1, 2, 2, 8, 8]), d.zeros([6, 2, 3, 3, 3])),
        /conv3d: kernel 3×3×3 is larger than the padded input 2×8×8 along t \(x \[1, 2, 2, 8, 8\], w \[6, 2, 3, 3, 3\]/,
      );
      assert.throws(
        () => layerNorm(d.zeros([4, 6]), d.zeros([5])),
        (e: Error) =>
          e instanceof ShapeError &&
          /layernorm/.test(e.message) &&
          /\[5\]/.test(e.message) &&
          /\[4, 6\]/.test(e.message),
      );
      assert.throws(
        () => attention(d.zeros([1, 2, 5, 8]), d.zeros([1, 3, 5, 8]), d.zeros([1, 3, 5, 8])),
        /attention: q \[1, 2, 5, 8\] and k \[1, 3, 5, 8\] differ in batch, heads or head dimension/,
      );
      assert.throws(
        () => reshape(d.zeros([6, 5]), [4, 8]),
        /reshape: cannot view \[6, 5\] \(30 elements\) as \[4, 8\] \(32 elements\)/,
      );
      assert.throws(() => sum(d.zeros([2, 3]), 2), /sum: axis 2 is out of range for rank 2/);
      assert.throws(() => d.zeros([2, -1]), /full: invalid shape \[2, -1\]/);
      assert.throws(
        () => d.tensor([1, 2, 3], [2, 2]),
        /tensor: 3 values do not fill shape \[2, 2\] \(4 elements\)/,
      );
    }
  });
});

describe("dtype mismatches", () => {
  it("name the op, both dtypes and both shapes", async () => {
    for (const d of await devices()) {
      assert.throws(
        () => add(d.zeros([2, 3]), d.zeros([2, 3], "i32")),
        (e: Error) =>
          e instanceof DTypeError &&
          /^add: dtypes differ: f32 \[2, 3\] and i32 \[2, 3\]$/.test(e.message),
      );
      assert.throws(
        () => matmul(d.zeros([3, 4]), d.zeros([4, 2], "f16")),
        (e: Error) => e instanceof DTypeError && /matmul/.test(e.message) && /f16/.test(e.message),
      );
      assert.throws(
        () => conv3d(d.zeros([1, 2, 3, 4, 4]), d.zeros([1, 2, 1, 1, 1], "f16")),
        /conv3d: dtypes differ: x f32 \[1, 2, 3, 4, 4\], w f16 \[1, 2, 1, 1, 1\]/,
      );
      assert.throws(() => sum(d.zeros([3], "i32")), /sum: needs a float tensor, got i32 \[3\]/);
      assert.throws(
        () => d.tensor([1.5], [1], "i32"),
        /tensor: i32 tensor got non-integer value 1.5 at 0/,
      );
    }
  });
});

describe("f16 on a device without f16", () => {
  it("is refused at upload, at allocation, and by the mixed-precision policy", {
    skip: !WEBGPU,
  }, async () => {
    const d = await createDevice({ kind: "webgpu", f16: false });
    assert.equal(d.supportsF16, false);
    assert.throws(() => d.tensor([1, 2], [2], "f16"), /tensor: device webgpu has no f16 support/);
    assert.throws(
      () => cast(d.zeros([3, 4]), "f16"),
      (e: Error) =>
        e instanceof DTypeError &&
        /^alloc: device webgpu has no f16 support; use f32 \(shape \[3, 4\]\)$/.test(e.message),
    );
    assert.equal(choosePrecision(d).compute, "f32");
    const w = d.zeros([2]);
    w.requiresGrad = true;
    assert.throws(
      () =>
        new Trainer([w], {
          policy: { compute: "f16", master: "f32", lossScaling: true, reason: "" },
        }),
      /Trainer: f16 compute on webgpu, which has no f16 support/,
    );
    d.destroy();
  });
});

describe("misuse of tensors", () => {
  it("a disposed tensor cannot be used or read", async () => {
    for (const d of await devices()) {
      const t = d.zeros([2, 2]);
      t.dispose();
      assert.throws(
        () => add(t, t),
        (e: Error) =>
          e instanceof DeviceError &&
          new RegExp(
            `^binary: input Tensor#${t.id} f32\\[2, 2\\] on ${d.kind} was already disposed$`,
          ).test(e.message),
      );
      await assert.rejects(
        t.toArray(),
        new RegExp(`tensor #${t.id} \\[2, 2\\] was used after dispose\\(\\)`),
      );
    }
  });

  it("tensors from two devices cannot meet in one op", { skip: !WEBGPU }, async () => {
    const [cpu, gpu] = await devices();
    assert.throws(
      () => mul(cpu.zeros([3]), gpu.zeros([3])),
      (e: Error) =>
        e instanceof DeviceError &&
        /^binary: inputs live on different devices \(cpu and webgpu\)$/.test(e.message),
    );
    assert.throws(
      () => matmul(gpu.zeros([2, 2]), cpu.zeros([2, 2])),
      /matmul: inputs live on different devices \(webgpu and cpu\)/,
    );
  });

  it("ops without inputs, non-tensors, unknown kernels, bad devices", async () => {
    const cpu = await createDevice({ kind: "cpu" });
    assert.throws(
      () => runOp(unaryOp, [], { fn: "neg" }),
      /unary: needs at least one input tensor/,
    );
    assert.throws(
      () => add(cpu.zeros([1]), 3 as unknown as Tensor),
      /binary: an input is not a Tensor \(3\)/,
    );
    assert.throws(() => cpu.backend.exec("nope", [], [], {}), /cpu: no kernel for op "nope"/);
    assert.throws(
      () => new CpuBackend("f16" as "f32"),
      /cpu: precision must be "f32" or "f64", got "f16"/,
    );
    await assert.rejects(
      createDevice({ kind: "tpu" as "cpu" }),
      /createDevice: unknown device kind "tpu" \(expected cpu, webgpu, onnx or auto\)/,
    );
    assert.throws(
      () => cpu.randn([2], undefined as never, 1, "i32"),
      /randn: dtype must be float, got i32/,
    );
    await assert.rejects(cpu.zeros([2]).item(), /item\(\): tensor has 2 elements, shape \[2\]/);
    if (WEBGPU) {
      await assert.rejects(
        createDevice({ kind: "webgpu", memoryLimitBytes: 0 }),
        /webgpu: memoryLimitBytes must be > 0, got 0/,
      );
      const gpu = await createDevice({ kind: "webgpu" });
      assert.throws(() => gpu.backend.exec("nope", [], [], {}), /webgpu: no kernel for op "nope"/);
      // Broadcasting kernels index at most 8 dimensions.
      const nine = [1, 1, 1, 1, 1, 1, 1, 2, 2];
      assert.throws(() => add(gpu.zeros(nine), gpu.zeros([2])), /webgpu: rank 9 exceeds 8/);
      const backend = gpu.backend as WebGpuBackend;
      const max = backend.limits.maxComputeWorkgroupsPerDimension;
      const pipe = backend.pipeline(
        "errors_noop",
        () => "@compute @workgroup_size(1) fn main() {}",
      );
      assert.throws(
        () => backend.dispatch(pipe, [], null, [max + 1]),
        new RegExp(
          `webgpu: dispatch of ${max + 1}×1×1 workgroups exceeds the per-dimension limit ${max}`,
        ),
      );
    }
  });

  it("autograd refuses losses it cannot differentiate", async () => {
    const d = await createDevice({ kind: "cpu" });
    const x = d.zeros([3]);
    assert.throws(
      () => backward(sum(x)),
      /backward: Tensor#\d+ f32\[\] on cpu does not require grad/,
    );
    x.requiresGrad = true;
    assert.throws(
      () => backward(mul(x, x)),
      /backward: loss must have one element, got shape \[3\]; pass a seed gradient/,
    );
    assert.throws(
      () => backward(mul(x, x), d.zeros([2])),
      /backward: seed gradient \[2\] does not match loss \[3\]/,
    );
  });
});

describe("running out of GPU memory", { skip: !WEBGPU }, () => {
  it("a memory limit gives OutOfMemoryError, and freeing memory makes room again", async () => {
    const d = await createDevice({ kind: "webgpu", memoryLimitBytes: 1 << 20 });
    const held: Tensor[] = [];
    const fill = () => {
      for (let i = 0; i < 10; i++) held.push(d.zeros([100_000]));
    };
    assert.throws(
      fill,
      (e: Error) =>
        e instanceof OutOfMemoryError &&
        /^webgpu: out of memory allocating 448\.0 KiB: 896\.0 KiB in use of a 1\.0 MiB limit$/.test(
          e.message,
        ),
    );
    assert.equal(held.length, 2);
    // The device still works, and freed memory is reused.
    for (const t of held) t.dispose();
    const a = d.full([100_000], 1.5);
    const t = add(a, a);
    assert.equal((await t.toArray())[99_999], 3);
    d.destroy();
  });

  it("a tensor larger than the device's largest binding is refused before allocating", async () => {
    const d = await createDevice({ kind: "webgpu" });
    const b = d.backend as WebGpuBackend;
    const maxBytes = Math.min(b.limits.maxBufferSize, b.limits.maxStorageBufferBindingSize);
    const elems = maxBytes / 4 + 1024;
    assert.throws(
      () => d.empty([elems]),
      (e: Error) =>
        e instanceof OutOfMemoryError &&
        /^webgpu: a tensor of [\d.]+ [MG]iB exceeds the largest buffer this device binds \([\d.]+ [MG]iB\)$/.test(
          e.message,
        ),
    );
    d.destroy();
  });
});

describe("a lost device", { skip: !WEBGPU }, () => {
  it("destroy(): the pending read and the next op reject with DeviceLostError, no hang", async () => {
    const d = await createDevice({ kind: "webgpu" });
    const a = d.full([4096], 1);
    const pending = add(a, a).toArray();
    d.destroy();
    await assert.rejects(within(pending, 10_000, "pending read"), (e: Error) => {
      assert.ok(e instanceof DeviceLostError, `${e.name}: ${e.message}`);
      assert.match(e.message, /webgpu: device lost \(destroyed/);
      return true;
    });
    assert.throws(
      () => add(a, a),
      (e: Error) =>
        e instanceof DeviceLostError && /^binary: the webgpu device was lost/.test(e.message),
    );
    assert.throws(() => d.zeros([2]), /tensor: the webgpu device was lost/);
    await assert.rejects(within(a.toArray(), 10_000, "read after loss"), DeviceLostError);
    await assert.rejects(within(d.sync(), 10_000, "sync after loss"), DeviceLostError);
  });

  it("a GPUDevice lost underneath the engine is noticed through device.lost", async () => {
    const d = await createDevice({ kind: "webgpu" });
    const a = d.full([4096], 1);
    const pending = mul(a, a).toArray();
    (d.backend as WebGpuBackend).device.destroy();
    await assert.rejects(within(pending, 10_000, "pending read"), DeviceLostError);
    assert.throws(() => mul(a, a), /binary: the webgpu device was lost \(destroyed/);
    await assert.rejects(
      within(a.toArray(), 10_000, "read after loss"),
      /read: webgpu device lost/,
    );
  });
});
