/**
 * CPU reference convolutions: direct loops. The forward pass gathers, the backward passes
 * scatter along the same (output position, kernel tap) pairs, so each is plainly the adjoint of
 * the forward.
 */
import type {
  Conv3dAttrs,
  ConvBackwardInputAttrs,
  ConvBackwardWeightAttrs,
  ConvGeometry,
  UpsampleAttrs,
} from "../ops/conv.ts";
import type { CpuView, FloatArray } from "./backend.ts";

interface Dims {
  N: number;
  Cin: number;
  Cout: number;
  /** Input spatial size. */
  T: number;
  H: number;
  W: number;
  /** Output spatial size. */
  To: number;
  Ho: number;
  Wo: number;
  kT: number;
  kH: number;
  kW: number;
}

/**
 * Calls fn(xIndex, wIndex, yIndex) for every (batch, cout, output position, cin, tap) whose input
 * position lies inside the (unpadded) input.
 */
function forEachTap(d: Dims, g: ConvGeometry, fn: (xi: number, wi: number, yi: number) => void) {
  const [st, sh, sw] = g.stride;
  const [pt, ph, pw] = [g.padding[0][0], g.padding[1][0], g.padding[2][0]];
  for (let n = 0; n < d.N; n++) {
    for (let co = 0; co < d.Cout; co++) {
      for (let to = 0; to < d.To; to++) {
        for (let ho = 0; ho < d.Ho; ho++) {
          for (let wo = 0; wo < d.Wo; wo++) {
            const yi = (((n * d.Cout + co) * d.To + to) * d.Ho + ho) * d.Wo + wo;
            for (let ci = 0; ci < d.Cin; ci++) {
              for (let kt = 0; kt < d.kT; kt++) {
                const t = to * st - pt + kt;
                if (t < 0 || t >= d.T) continue;
                for (let kh = 0; kh < d.kH; kh++) {
                  const h = ho * sh - ph + kh;
                  if (h < 0 || h >= d.H) continue;
                  for (let kw = 0; kw < d.kW; kw++) {
                    const w = wo * sw - pw + kw;
                    if (w < 0 || w >= d.W) continue;
                    const xi = (((n * d.Cin + ci) * d.T + t) * d.H + h) * d.W + w;
                    const wi = (((co * d.Cin + ci) * d.kT + kt) * d.kH + kh) * d.kW + kw;
                    fn(xi, wi, yi);
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/** Sizes from the input [N, Cin, T, H, W], weight [Cout, Cin, kT, kH, kW] and output shapes. */
function dims(x: readonly number[], w: readonly number[], y: readonly number[]): Dims {
  return {
    N: x[0],
    Cin: x[1],
    Cout: w[0],
    T: x[2],
    H: x[3],
    W: x[4],
    To: y[2],
    Ho: y[3],
    Wo: y[4],
    kT: w[2],
    kH: w[3],
    kW: w[4],
  };
}

export const convCpu = {
  conv3d([x, w, bias]: CpuView[], [y]: CpuView[], attrs: Conv3dAttrs) {
    const xs = x.storage;
    const ws = w.storage;
    const ys = y.storage as FloatArray;
    // Accumulate in f64 before the output's own rounding.
    const acc = new Float64Array(y.size);
    forEachTap(dims(x.shape, w.shape, y.shape), attrs, (xi, wi, yi) => {
      acc[yi] += xs[xi] * ws[wi];
    });
    const P = y.shape[2] * y.shape[3] * y.shape[4];
    const Cout = y.shape[1];
    for (let i = 0; i < y.size; i++) {
      ys[i] = acc[i] + (bias ? bias.storage[Math.floor(i / P) % Cout] : 0);
    }
  },

  conv3d_backward_input([g, w]: CpuView[], [dx]: CpuView[], attrs: ConvBackwardInputAttrs) {
    const gs = g.storage;
    const ws = w.storage;
    const acc = new Float64Array(dx.size);
    forEachTap(dims(dx.shape, w.shape, g.shape), attrs, (xi, wi, yi) => {
      acc[xi] += gs[yi] * ws[wi];
    });
    (dx.storage as FloatArray).set(acc);
  },

  conv3d_backward_weight([x, g]: CpuView[], [dw]: CpuView[], attrs: ConvBackwardWeightAttrs) {
    const xs = x.storage;
    const gs = g.storage;
    const acc = new Float64Array(dw.size);
    forEachTap(dims(x.shape, dw.shape, g.shape), attrs, (xi, wi, yi) => {
      acc[wi] += gs[yi] * xs[xi];
    });
    (dw.storage as FloatArray).set(acc);
  },

  upsample_nearest([x]: CpuView[], [y]: CpuView[], attrs: UpsampleAttrs) {
    const [, , T, H, W] = x.shape;
    const [ft, fh, fw] = attrs.factors;
    const xs = x.storage;
    const ys = y.storage;
    const NC = x.shape[0] * x.shape[1];
    let o = 0;
    for (let nc = 0; nc < NC; nc++) {
      for (let t = 0; t < T * ft; t++) {
        for (let h = 0; h < H * fh; h++) {
          const row = ((nc * T + Math.floor(t / ft)) * H + Math.floor(h / fh)) * W;
          for (let w = 0; w < W * fw; w++) ys[o++] = xs[row + Math.floor(w / fw)];
        }
      }
    }
  },
};
