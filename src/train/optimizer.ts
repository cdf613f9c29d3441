/**
 * AdamW with decoupled weight decay and bias correction, as one fused in-place kernel per
 * parameter. step() only encodes work: the step count, 1/loss-scale and the skip flag live on the
 * device, so a step that a loss scaler marked as overflowed changes nothing and does not count,
 * without the host ever reading a value.
 */
import type { Device } from "../tensor/device.ts";
import { keep, noGrad } from "../tensor/engine.ts";
import { adamwUpdate, CTRL_SIZE, stepCount } from "../tensor/ops/optim.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { checkMaxNorm } from "./clip.ts";
import { checkParams, zeroGrad } from "./params.ts";

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Whether a parameter gets weight decay (default: all of them). */
  decays?: (p: Tensor) => boolean;
}

export interface StepOptions {
  /** The loss scaler's control tensor ([1/scale, skip, ...]); default: unscaled, never skip. */
  control?: Tensor;
  /** Learning rate for this step (schedules); default the optimiser's lr. */
  lr?: number;
  /**
   * Clip gradients by this global norm (from `globalGradNorm`) inside the update kernel: each
   * gradient is multiplied by min(1, maxNorm / (norm + eps)) — the same as clipGradNorm, without
   * a separate pass over the gradients.
   */
  clip?: { norm: Tensor; maxNorm: number; eps?: number };
}

function checkHyper(name: string, v: number, min: number): void {
  if (!(typeof v === "number" && Number.isFinite(v) && v >= min))
    throw new RangeError(`AdamW: ${name} must be a finite number ≥ ${min}, got ${v}`);
}

export class AdamW {
  readonly params: readonly Tensor[];
  readonly device: Device;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private readonly decays: boolean[];
  /** Steps applied so far (f32 [1], on the device). */
  readonly count: Tensor;
  /** [1, 0, 0, 0]: no scaling, no skip. */
  private readonly plainControl: Tensor;

  constructor(params: readonly Tensor[], options: AdamWOptions = {}) {
    this.device = checkParams("AdamW", params);
    this.params = [...params];
    this.lr = options.lr ?? 1e-3;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    checkHyper("lr", this.lr, 0);
    checkHyper("eps", this.eps, Number.MIN_VALUE);
    checkHyper("weightDecay", this.weightDecay, 0);
    for (const [name, b] of [
      ["beta1", this.beta1],
      ["beta2", this.beta2],
    ] as const) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW: ${name} must be in [0, 1), got ${b}`);
    }
    this.decays = this.params.map((p) => options.decays?.(p) ?? true);
    this.m = this.params.map((p) => keep(this.device.zeros(p.shape)));
    this.v = this.params.map((p) => keep(this.device.zeros(p.shape)));
    this.count = keep(this.device.zeros([1]));
    this.plainControl = keep(this.device.tensor([1, 0, 0, 0], [CTRL_SIZE]));
  }

  /** Encodes one update of every parameter that has a gradient (no readback). */
  step(options: StepOptions = {}): void {
    const ctrl = options.control ?? this.plainControl;
    const lr = options.lr ?? this.lr;
    const clip = options.clip;
    if (clip) checkMaxNorm("AdamW.step", clip.maxNorm);
    noGrad(() => {
      stepCount(this.count, ctrl);
      this.params.forEach((p, i) => {
        if (!p.grad) return;
        adamwUpdate(
          p,
          p.grad,
          this.m[i],
          this.v[i],
          ctrl,
          this.count,
          {
            lr,
            beta1: this.beta1,
            beta2: this.beta2,
            eps: this.eps,
            weightDecay: this.decays[i] ? this.weightDecay : 0,
            clipNorm: clip?.maxNorm,
            clipEps: clip ? (clip.eps ?? 1e-6) : undefined,
          },
          clip?.norm,
        );
      });
    });
  }

  /**
   * The optimiser's state as named tensors ("m.<param>", "v.<param>", "count"), for checkpoints:
   * read them to save, `assign` into them to restore.
   */
  namedState(): [string, Tensor][] {
    const name = (i: number) => this.params[i].name || `param${i}`;
    return [
      ...this.m.map((t, i): [string, Tensor] => [`m.${name(i)}`, t]),
      ...this.v.map((t, i): [string, Tensor] => [`v.${name(i)}`, t]),
      ["count", this.count],
    ];
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    zeroGrad(this.params);
  }

  /** The number of steps applied (skipped steps excluded), read asynchronously. */
  async stepsTaken(): Promise<number> {
    return this.count.item();
  }

  /** Frees the optimiser state (not the parameters). */
  dispose(): void {
    for (const t of [...this.m, ...this.v, this.count, this.plainControl]) t.dispose();
  }
}
