/** An exponential moving average of weights, updated in place on the device. */
import { keep, noGrad } from "../tensor/engine.ts";
import { emaUpdate } from "../tensor/ops/optim.ts";
import { assign } from "../tensor/ops/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { checkParams } from "./params.ts";

export interface EmaOptions {
  /** Decay per update (default 0.999). */
  decay?: number;
  /**
   * Use min(decay, (1 + n)/(10 + n)) at update n, so that early averages are not dominated by
   * the initial weights (default false).
   */
  warmup?: boolean;
}

export class Ema {
  /** One f32 shadow per parameter, in the parameters' order. */
  readonly shadow: readonly Tensor[];
  readonly decay: number;
  private readonly warmup: boolean;
  /** Updates applied so far (a checkpoint saves it: the warm-up decay depends on it). */
  updates = 0;

  constructor(
    readonly params: readonly Tensor[],
    options: EmaOptions = {},
  ) {
    const device = checkParams("Ema", params);
    this.decay = options.decay ?? 0.999;
    if (!(this.decay >= 0 && this.decay <= 1))
      throw new RangeError(`Ema: decay must be in [0, 1], got ${this.decay}`);
    this.warmup = options.warmup ?? false;
    this.shadow = noGrad(() =>
      params.map((p) => {
        const s = keep(device.empty(p.shape));
        s.name = p.name ? `ema.${p.name}` : "";
        assign(s, p);
        return s;
      }),
    );
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return this.decayAt(this.updates);
  }

  /** The decay of update n (compiled steps feed it as the dynamic scalar "ema_decay"). */
  decayAt(n: number): number {
    return this.warmup ? Math.min(this.decay, (1 + n) / (10 + n)) : this.decay;
  }

  /** ema ← d·ema + (1−d)·param for every parameter (one dispatch each). */
  update(): void {
    const d = this.currentDecay();
    noGrad(() => {
      this.params.forEach((p, i) => {
        emaUpdate(this.shadow[i], p, d);
      });
    });
    this.updates++;
  }

  /** Copies the averaged weights into `targets` (default: the parameters themselves). */
  copyTo(targets: readonly Tensor[] = this.params): void {
    if (targets.length !== this.shadow.length)
      throw new RangeError(
        `Ema.copyTo: ${targets.length} targets for ${this.shadow.length} weights`,
      );
    noGrad(() => {
      targets.forEach((t, i) => {
        assign(t, this.shadow[i]);
      });
    });
  }

  dispose(): void {
    for (const s of this.shadow) s.dispose();
  }
}
