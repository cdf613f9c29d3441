/**
 * Least-squares polynomial fits of low degree (lines and parabolas through a trajectory), solved
 * by normal equations on centred times so that they stay well conditioned.
 */

export interface PolyFit {
  /** Coefficients of the polynomial in (t - t0): c[0] + c[1](t - t0) + c[2](t - t0)². */
  c: number[];
  t0: number;
  /** Root-mean-square residual. */
  rms: number;
  /** Standard error of each coefficient (from the residual scatter). */
  stderr: number[];
  n: number;
}

/** Fits a polynomial of degree 1 or 2 to (t, y); needs at least degree + 2 points. */
export function polyFit(t: readonly number[], y: readonly number[], degree: 1 | 2): PolyFit {
  const n = t.length;
  if (n !== y.length) throw new Error(`polyFit: ${n} times but ${y.length} values`);
  const k = degree + 1;
  if (n < k + 1)
    throw new Error(`polyFit: degree ${degree} needs at least ${k + 1} points, got ${n}`);
  let t0 = 0;
  for (const v of t) t0 += v;
  t0 /= n;
  // Normal equations A c = b with A[i][j] = Σ u^(i+j), b[i] = Σ y u^i.
  const A = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  for (let s = 0; s < n; s++) {
    const u = t[s] - t0;
    const pw = [1, u, u * u, u * u * u, u * u * u * u];
    for (let i = 0; i < k; i++) {
      b[i] += y[s] * pw[i];
      for (let j = 0; j < k; j++) A[i][j] += pw[i + j];
    }
  }
  const inv = invert(A);
  const c = inv.map((row) => row.reduce((acc, v, j) => acc + v * b[j], 0));
  let ss = 0;
  for (let s = 0; s < n; s++) {
    const u = t[s] - t0;
    let p = 0;
    for (let i = k - 1; i >= 0; i--) p = p * u + c[i];
    ss += (y[s] - p) ** 2;
  }
  const dof = n - k;
  const sigma2 = ss / dof;
  return {
    c,
    t0,
    rms: Math.sqrt(ss / n),
    stderr: inv.map((row, i) => Math.sqrt(Math.max(0, row[i] * sigma2))),
    n,
  };
}

export function evalPoly(f: PolyFit, t: number): number {
  const u = t - f.t0;
  let p = 0;
  for (let i = f.c.length - 1; i >= 0; i--) p = p * u + f.c[i];
  return p;
}

/** First derivative of the fitted polynomial at t. */
export function slopePoly(f: PolyFit, t: number): number {
  const u = t - f.t0;
  return (f.c[1] ?? 0) + 2 * (f.c[2] ?? 0) * u;
}

/** Inverse of a small symmetric positive-definite matrix by Gauss–Jordan with pivoting. */
function invert(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (Math.abs(a[piv][col]) < 1e-12)
      throw new Error("polyFit: times are degenerate (all equal?)");
    [a[col], a[piv]] = [a[piv], a[col]];
    const p = a[col][col];
    for (let j = 0; j < 2 * n; j++) a[col][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col];
      if (f === 0) continue;
      for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[col][j];
    }
  }
  return a.map((row) => row.slice(n));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median: no values");
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
