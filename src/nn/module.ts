/**
 * A small module system: a Module owns named parameters and child modules, so that a model is a
 * tree whose parameters have dotted paths ("blocks.0.attn.qkv.weight"). Parameters are created on
 * a given Device from a seeded Rng (the same seed gives the same weights on every device), live
 * outside any `tidy` scope, and can be saved to and loaded from plain Float32Arrays.
 *
 * Modules hold f32 master weights. A forward pass computes in the dtype of its input activations:
 * `this.weightAs(w, dtype)` casts a weight for this pass (the cast's gradient flows back in f32).
 */
import type { Device } from "../tensor/device.ts";
import type { DType } from "../tensor/dtype.ts";
import { keep, noGrad } from "../tensor/engine.ts";
import { ShapeError } from "../tensor/errors.ts";
import { cast } from "../tensor/ops/elementwise.ts";
import { assign } from "../tensor/ops/shape.ts";
import { fmt, numel } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";

type Entry =
  | { kind: "param"; name: string; tensor: Tensor }
  | { kind: "child"; name: string; module: Module };

const NAME_RE = /^[A-Za-z0-9_]+$/;

export abstract class Module {
  private readonly entries: Entry[] = [];

  constructor(readonly device: Device) {}

  /** Registers a trainable parameter under `name` (kept outside scopes, requires grad). */
  protected param(name: string, t: Tensor): Tensor {
    this.checkName(name);
    if (t.device !== this.device)
      throw new ShapeError(`module: parameter ${name} lives on another device than its module`);
    keep(t);
    t.requiresGrad = true;
    t.name = name;
    this.entries.push({ kind: "param", name, tensor: t });
    return t;
  }

  /** Registers a child module under `name`; its parameters are renamed "<name>.<path>". */
  protected child<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    if (m.device !== this.device)
      throw new ShapeError(`module: child ${name} lives on another device than its parent`);
    this.entries.push({ kind: "child", name, module: m });
    for (const [path, t] of m.namedParameters()) t.name = `${name}.${path}`;
    return m;
  }

  private checkName(name: string): void {
    if (!NAME_RE.test(name)) throw new ShapeError(`module: invalid name "${name}"`);
    if (this.entries.some((e) => e.name === name))
      throw new ShapeError(`module: name "${name}" is registered twice`);
  }

  /** [path, tensor] for every parameter, in registration order, children depth-first. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const e of this.entries) {
      if (e.kind === "param") out.push([e.name, e.tensor]);
      else for (const [p, t] of e.module.namedParameters()) out.push([`${e.name}.${p}`, t]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Total number of parameter elements. */
  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Reads every parameter back to the host (asynchronously) as path → Float32Array. */
  async stateDict(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const [path, t] of this.namedParameters())
      out[path] = Float32Array.from(await t.toArray());
    return out;
  }

  /**
   * Copies values into the existing parameters (optimisers keep their references). Every path
   * must be present with the right number of elements; unknown paths are an error.
   */
  loadStateDict(state: Record<string, ArrayLike<number>>): void {
    const named = this.namedParameters();
    const known = new Set(named.map(([p]) => p));
    for (const key of Object.keys(state)) {
      if (!known.has(key)) throw new ShapeError(`loadStateDict: unknown parameter "${key}"`);
    }
    noGrad(() => {
      for (const [path, t] of named) {
        const values = state[path];
        if (!values) throw new ShapeError(`loadStateDict: missing parameter "${path}"`);
        if (values.length !== numel(t.shape)) {
          throw new ShapeError(
            `loadStateDict: "${path}" has ${values.length} values but the parameter is ${fmt(t.shape)}`,
          );
        }
        const src = this.device.tensor(values, t.shape, t.dtype);
        assign(t, src);
        src.dispose();
      }
    });
  }

  /** Frees every parameter (and its gradient). */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }

  /** A weight in the compute dtype of this forward pass (no copy when it already is). */
  protected weightAs(w: Tensor, dtype: DType): Tensor {
    return cast(w, dtype);
  }
}
