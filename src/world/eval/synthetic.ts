/**
 * A tiny anti-aliased painter for the evaluator's own tests: sky and ground, discs, rotated
 * squares and triangles, soft shadows and rectangles, so segmentation, tracking and scoring
 * can be checked on frames whose truth is known exactly, independently of the world renderer.
 */
import type { Video } from "../../media/video.ts";
import type { Rgb } from "./colour.ts";

export class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
  }

  /** Sky above groundY (pixels from the top), ground below. */
  fillScene(sky: Rgb, ground: Rgb, groundY: number): this {
    for (let y = 0; y < this.height; y++) {
      const c = y < groundY ? sky : ground;
      for (let x = 0; x < this.width; x++) this.set(x, y, c, 1);
    }
    return this;
  }

  /** Blends colour c into pixel (x, y) with weight a. */
  set(x: number, y: number, c: Rgb, a: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || a <= 0) return;
    const o = (y * this.width + x) * 3;
    for (let k = 0; k < 3; k++) {
      this.data[o + k] = Math.round(this.data[o + k] * (1 - a) + c[k] * a);
    }
  }

  /** Paints a shape given as an inside test, with 4×4 supersampling inside its bounding box. */
  paint(
    inside: (x: number, y: number) => boolean,
    box: [number, number, number, number],
    c: Rgb,
  ): this {
    const [x0, y0, x1, y1] = box;
    for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
      for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
        let hits = 0;
        for (let j = 0; j < 4; j++) {
          for (let i = 0; i < 4; i++) if (inside(x + (i + 0.5) / 4, y + (j + 0.5) / 4)) hits++;
        }
        this.set(x, y, c, hits / 16);
      }
    }
    return this;
  }

  disc(cx: number, cy: number, r: number, c: Rgb): this {
    return this.paint(
      (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r,
      [cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1],
      c,
    );
  }

  /** A square of side s centred at (cx, cy), rotated by angle (radians). */
  square(cx: number, cy: number, s: number, angle: number, c: Rgb): this {
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const h = s / 2;
    const r = s;
    return this.paint(
      (x, y) => {
        const u = (x - cx) * cos + (y - cy) * sin;
        const v = -(x - cx) * sin + (y - cy) * cos;
        return Math.abs(u) <= h && Math.abs(v) <= h;
      },
      [cx - r, cy - r, cx + r, cy + r],
      c,
    );
  }

  /** An equilateral triangle of side s centred (centroid) at (cx, cy), rotated by angle. */
  triangle(cx: number, cy: number, s: number, angle: number, c: Rgb): this {
    const R = s / Math.sqrt(3);
    const v = [0, 1, 2].map((k) => {
      const a = angle - Math.PI / 2 + (k * 2 * Math.PI) / 3;
      return [cx + R * Math.cos(a), cy + R * Math.sin(a)] as const;
    });
    const side = (
      p: readonly [number, number],
      q: readonly [number, number],
      x: number,
      y: number,
    ) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
    return this.paint(
      (x, y) => {
        const a = side(v[0], v[1], x, y);
        const b = side(v[1], v[2], x, y);
        const d = side(v[2], v[0], x, y);
        return (a >= 0 && b >= 0 && d >= 0) || (a <= 0 && b <= 0 && d <= 0);
      },
      [cx - R - 1, cy - R - 1, cx + R + 1, cy + R + 1],
      c,
    );
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): this {
    return this.paint(() => true, [x0, y0, x1, y1], c);
  }

  /** A soft dark ellipse on the ground (darkens to 1 - strength at its centre). */
  shadow(cx: number, cy: number, rx: number, ry: number, strength: number): this {
    for (let y = Math.floor(cy - ry); y <= Math.ceil(cy + ry); y++) {
      for (let x = Math.floor(cx - rx); x <= Math.ceil(cx + rx); x++) {
        const d = ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2;
        if (d < 1) this.set(x, y, [0, 0, 0], strength * (1 - d));
      }
    }
    return this;
  }
}

/** A video from frames painted by `draw(canvas, frameIndex, t)`. */
export function paintVideo(
  width: number,
  height: number,
  fps: number,
  count: number,
  draw: (c: Canvas, i: number, t: number) => void,
): Video {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const c = new Canvas(width, height);
    draw(c, i, i / fps);
    frames.push(c.data);
  }
  return { width, height, fps, frames };
}
