/**
 * The loss curve as a picture: log.csv drawn as an SVG chart (loss.svg in the run folder),
 * rewritten at every checkpoint so that a glance shows whether a long run is still learning.
 * The loss axis is logarithmic (training losses fall over decades); each step's loss is drawn
 * faint and a smoothed curve (exponential moving average) over it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileSafely } from "../media/safe-output.ts";

export interface LossPoint {
  step: number;
  loss: number;
}

/** Reads the step and loss columns of a training log (log.csv); skips malformed lines. */
export function parseLossLog(text: string): LossPoint[] {
  const lines = text.split("\n");
  const header = (lines[0] ?? "").split(",");
  const si = header.indexOf("step");
  const li = header.indexOf("loss");
  if (si < 0 || li < 0) throw new Error("training log: the header has no step and loss columns");
  const points: LossPoint[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    const step = Number(cells[si]);
    const loss = Number(cells[li]);
    if (line.trim() !== "" && Number.isFinite(step) && Number.isFinite(loss) && loss > 0)
      points.push({ step, loss });
  }
  return points;
}

/** At most `max` points: the mean step and loss of equal runs of consecutive points. */
function thin(points: LossPoint[], max: number): LossPoint[] {
  if (points.length <= max) return points;
  const out: LossPoint[] = [];
  const per = points.length / max;
  for (let i = 0; i < max; i++) {
    const run = points.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    const mean = (f: (p: LossPoint) => number) => run.reduce((s, p) => s + f(p), 0) / run.length;
    out.push({ step: mean((p) => p.step), loss: Math.exp(mean((p) => Math.log(p.loss))) });
  }
  return out;
}

/** 1, 2, 5 × 10^k ticks covering [lo, hi] on a log axis (at least the two decades' ends). */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

/** About `n` round ticks over [0, hi] on a linear axis. */
function linearTicks(hi: number, n = 5): number[] {
  const raw = hi / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= hi + 1e-9; v += step) ticks.push(v);
  return ticks;
}

function label(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return v >= 0.01 || v === 0 ? String(+v.toPrecision(2)) : v.toExponential(0);
}

/** The chart as SVG text. `title` names the run (escaped here). */
export function renderLossSvg(points: LossPoint[], title: string): string {
  if (points.length === 0) throw new Error("loss plot: the log has no steps yet");
  const [W, H] = [720, 400];
  const m = { left: 64, right: 20, top: 36, bottom: 44 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const shown = thin(points, 1500);
  const lo = Math.min(...shown.map((p) => p.loss));
  const hi = Math.max(...shown.map((p) => p.loss));
  // A little room above and below; a flat curve still gets a visible range.
  const yLo = Math.log10(lo) - 0.05 - (hi === lo ? 0.5 : 0);
  const yHi = Math.log10(hi) + 0.05 + (hi === lo ? 0.5 : 0);
  const xHi = Math.max(1, points[points.length - 1].step);
  const x = (step: number) => m.left + (step / xHi) * pw;
  const y = (loss: number) => m.top + ((yHi - Math.log10(loss)) / (yHi - yLo)) * ph;
  const path = (ps: LossPoint[]) =>
    ps.map((p, i) => `${i ? "L" : "M"}${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join("");
  // Smoothing over about 2% of the run, in log space.
  const alpha = Math.min(1, 50 / shown.length);
  let s = Math.log(shown[0].loss);
  const smooth = shown.map((p) => {
    s += alpha * (Math.log(p.loss) - s);
    return { step: p.step, loss: Math.exp(s) };
  });
  const esc = (t: string) =>
    t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left}" y="22" font-size="14">${esc(title)}</text>`,
  ];
  for (const t of logTicks(10 ** yLo, 10 ** yHi)) {
    const ty = y(t).toFixed(1);
    out.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${ty}" y2="${ty}" stroke="#e4e4e4"/>`,
      `<text x="${m.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`,
    );
  }
  for (const t of linearTicks(xHi)) {
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${m.top}" y2="${H - m.bottom}" stroke="#f0f0f0"/>`,
      `<text x="${tx}" y="${H - m.bottom + 16}" text-anchor="middle">${label(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<path d="${path(shown)}" fill="none" stroke="#9ec5e8" stroke-width="1"/>`,
    `<path d="${path(smooth)}" fill="none" stroke="#1f5fa0" stroke-width="2"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 8}" text-anchor="middle">step</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">loss (log scale)</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}

/** Redraws `<runDir>/loss.svg` from `<runDir>/log.csv` (atomically). */
export async function writeLossPlot(runDir: string, title: string): Promise<void> {
  const points = parseLossLog(await readFile(join(runDir, "log.csv"), "utf8"));
  if (points.length === 0) return;
  await writeFileSafely(join(runDir, "loss.svg"), renderLossSvg(points, title));
}
