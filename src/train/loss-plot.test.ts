import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseLossLog, renderLossSvg } from "./loss-plot.ts";

/** The path's points as [x, y] pairs, from its d attribute. */
function pathPoints(svg: string, stroke: string): [number, number][] {
  const m = new RegExp(`<path d="([^"]+)" fill="none" stroke="${stroke}"`).exec(svg);
  assert.ok(m, `a path stroked ${stroke}`);
  return [...m[1].matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((p) => [Number(p[1]), Number(p[2])]);
}

describe("loss plot", () => {
  it("reads step and loss by header name and skips broken lines", () => {
    const text = "step,loss,lr,seconds\n1,0.5,1e-3,0.1\n2,oops,1e-3,0.2\n3,0.25,1e-3,0.3\n\n";
    assert.deepEqual(parseLossLog(text), [
      { step: 1, loss: 0.5 },
      { step: 3, loss: 0.25 },
    ]);
    assert.throws(() => parseLossLog("a,b\n1,2\n"), /no step and loss columns/);
  });

  it("draws a falling loss falling, on a log axis, thinned for long runs", () => {
    // 5000 steps of a loss that falls from 1 to 0.01 (two decades), with noise.
    const points = Array.from({ length: 5000 }, (_, i) => ({
      step: i + 1,
      loss: 10 ** (-2 * (i / 4999)) * (1 + 0.2 * Math.sin(i * 1.7)),
    }));
    const svg = renderLossSvg(points, "run <a> & b");
    assert.match(svg, /run &lt;a&gt; &amp; b/, "the title is escaped");
    const raw = pathPoints(svg, "#9ec5e8");
    const smooth = pathPoints(svg, "#1f5fa0");
    assert.ok(raw.length <= 1500 && raw.length >= 1000, `${raw.length} points drawn`);
    // SVG y grows downward: a falling loss rises on the page, steadily for the smoothed curve.
    assert.ok(
      smooth[smooth.length - 1][1] > smooth[0][1] + 200,
      "the curve falls by most of the plot",
    );
    // Log scale: the first decade (1 → 0.1) spans as much height as the second (0.1 → 0.01).
    const at = (frac: number) => smooth[Math.round(frac * (smooth.length - 1))][1];
    const first = at(0.5) - at(0.02);
    const second = at(0.98) - at(0.5);
    assert.ok(Math.abs(first - second) < 0.15 * second, `decades ${first} vs ${second} px`);
    for (const tick of ["1", "0.1", "0.01"]) assert.match(svg, new RegExp(`>${tick}</text>`));
    assert.throws(() => renderLossSvg([], "empty"), /no steps yet/);
  });
});
