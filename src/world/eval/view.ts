/**
 * The camera behind a clip, so that motion can be judged in the world rather than on screen: a
 * pan slides everything sideways and a zoom spreads it out from the floor, and neither is motion
 * of the objects. Positions are mapped to "base pixels", the pixels of the first frame's camera,
 * whose scale (pixels per metre) is the world's at rest.
 *
 * Where it comes from: the reference scene (exact, via cameraAt), else the clip itself (zoom
 * from objects growing together, pan from scenery sliding). Never from the prompt: a camera the
 * prompt asks for is what is to be checked, not evidence. With no scenery in view a pan cannot
 * be measured; the view is then the screen's, and reported as unmeasured.
 */
import { basePixelsPerMetre, cameraAt, groundRow, pixelToWorld, worldToPixel } from "../camera.ts";
import { ARENA_WIDTHS } from "../sample.ts";
import type { CameraMotion, SceneSpec } from "../scene.ts";
import { polyFit } from "./fit.ts";
import type { Track } from "./track.ts";

/** Arena width (m) the scene sampler centres its draws on; the view of a still camera fits it. */
export const TYPICAL_ARENA_WIDTH = (ARENA_WIDTHS[0] + ARENA_WIDTHS[1]) / 2;

export interface ViewModel {
  source: "reference" | "measured" | "unmeasured";
  /** Why the camera could not be measured (source "unmeasured"). */
  reason?: string;
  camera: CameraMotion;
  /** Base pixels per metre. */
  pixelsPerMetre: number;
  /** Pixel position at a frame to base pixels. */
  toBase(frame: number, x: number, y: number): [number, number];
  /** Magnification at a frame relative to the first. */
  scaleAt(frame: number): number;
}

export interface ViewInput {
  width: number;
  height: number;
  fps: number;
  frames: number;
  tracks: Track[];
  /** Per-frame scenery masks from segmentation. */
  scenery: Uint8Array[];
  /** The frames' pixels (packed RGB), for the floor's texture; without them only scenery. */
  pixels?: Uint8Array[];
  reference?: SceneSpec;
}

export function estimateView(input: ViewInput): ViewModel {
  const { width, height, fps, reference } = input;
  if (reference) return sceneView(reference, width, height, fps, "reference");
  const ppm = basePixelsPerMetre(TYPICAL_ARENA_WIDTH, width, height);
  // The floor's texture first: it slides under a pan and spreads under a zoom. Objects only
  // where the floor shows no pattern (objects can seem to grow on their own, tumbling or half
  // hidden).
  const floorMove = input.pixels ? floorMotion(input.pixels, width, height) : "featureless";
  if (floorMove === "still") return still(ppm);
  const floor = floorMove === "pan" ? measureFloorPan(input.pixels!, width, height) : "featureless";
  const zoom =
    floorMove === "zoom"
      ? floorZoom(input.pixels!, width, height, input.fps)
      : floorMove === "featureless"
        ? measureZoom(input)
        : null;
  if (zoom) {
    const g = groundRow(height);
    const scaleAt = (f: number) => Math.max(0.2, zoom(f));
    return {
      source: "measured",
      camera: "zoom-in",
      pixelsPerMetre: ppm,
      scaleAt,
      toBase: (f, x, y) => {
        const s = scaleAt(f);
        return [width / 2 + (x - width / 2) / s, g + (y - g) / s];
      },
    };
  }
  const pan = floor !== "featureless" ? floor : measurePan(input);
  if (pan === "featureless") {
    // Nothing fixed to the world is in view, so a pan cannot be told from the objects' own
    // motion: positions are judged as the screen shows them, and the verdict says so.
    return {
      source: "unmeasured",
      reason:
        "no textured floor or scenery in view to follow, so a pan cannot be measured (judged on screen)",
      camera: "still",
      pixelsPerMetre: ppm,
      scaleAt: () => 1,
      toBase: (_f, x, y) => [x, y],
    };
  }
  if (pan) {
    const drift = pan[pan.length - 1];
    return {
      source: "measured",
      camera: drift > 0 ? "pan-right" : "pan-left",
      pixelsPerMetre: ppm,
      scaleAt: () => 1,
      toBase: (f, x, y) => [x + pan[Math.max(0, Math.min(pan.length - 1, f))], y],
    };
  }
  return still(ppm);
}

function still(ppm: number): ViewModel {
  return {
    source: "measured",
    camera: "still",
    pixelsPerMetre: ppm,
    scaleAt: () => 1,
    toBase: (_f, x, y) => [x, y],
  };
}

/**
 * Mean difference between a frame's floor profile and the first frame's, shifted by s px and
 * magnified by k about the frame's centre.
 */
function floorCost(ref: Float64Array, p: Float64Array, k: number, shift: number): number {
  const width = ref.length;
  let c = 0;
  let n = 0;
  for (let x = 0; x < width; x++) {
    const xs = width / 2 + (x + 0.5 - width / 2) / k - 0.5 - shift;
    const i = Math.floor(xs);
    if (i < 0 || i + 1 >= width) continue;
    c += Math.abs(p[x] - (ref[i] + (ref[i + 1] - ref[i]) * (xs - i)));
    n++;
  }
  return n > width / 3 ? c / n : Number.POSITIVE_INFINITY;
}

/** The magnification (1 to 1.8) that best matches a frame's floor to the first frame's. */
function bestScale(ref: Float64Array, p: Float64Array): { k: number; cost: number } {
  let best = { k: 1, cost: floorCost(ref, p, 1, 0) };
  for (let k = 1.01; k <= 1.8; k += 0.01) {
    const cost = floorCost(ref, p, k, 0);
    if (cost < best.cost) best = { k, cost };
  }
  return best;
}

/**
 * What the floor does between the first and last frames: stays, slides (a pan) or spreads (a
 * zoom), whichever matches best; "featureless" when it has no pattern.
 */
function floorMotion(
  frames: Uint8Array[],
  width: number,
  height: number,
): "featureless" | "still" | "pan" | "zoom" {
  const ref = floorProfile(frames[0], width, height);
  if (!ref || frames.length < 2) return "featureless";
  const last = rawProfile(frames[frames.length - 1], width, height);
  const stay = floorCost(ref, last, 1, 0);
  let slide = Number.POSITIVE_INFINITY;
  let shift = 0;
  for (let s = -Math.ceil(width / 3); s <= Math.ceil(width / 3); s++) {
    const c = floorCost(ref, last, 1, s);
    if (c < slide) {
      slide = c;
      shift = s;
    }
  }
  const spread = bestScale(ref, last);
  // A pattern that stays put fits best unmoved (within noise); otherwise the better model.
  if (stay <= Math.min(slide, spread.cost) * 1.1 + 0.3) return "still";
  if (spread.cost < slide && spread.k >= 1.04) return "zoom";
  return Math.abs(shift) >= 1 ? "pan" : "still";
}

/** A zoom's magnification per frame from the floor: a quadratic in time through 1 at frame 0. */
function floorZoom(
  frames: Uint8Array[],
  width: number,
  height: number,
  fps: number,
): ((frame: number) => number) | null {
  const ref = floorProfile(frames[0], width, height);
  if (!ref) return null;
  const t: number[] = [];
  const y: number[] = [];
  frames.forEach((f, i) => {
    if (i === 0) return;
    t.push(i / fps);
    y.push(bestScale(ref, rawProfile(f, width, height)).k - 1);
  });
  const [a, b] = quadraticThroughZero(t, y);
  return (frame: number) => 1 + a * (frame / fps) + b * (frame / fps) ** 2;
}

/** Least squares y ≈ a·t + b·t² (no constant term), returning [a, b]. */
function quadraticThroughZero(t: number[], y: number[]): [number, number] {
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let y1 = 0;
  let y2 = 0;
  t.forEach((u, i) => {
    s2 += u * u;
    s3 += u * u * u;
    s4 += u * u * u * u;
    y1 += u * y[i];
    y2 += u * u * y[i];
  });
  const det = s2 * s4 - s3 * s3;
  if (Math.abs(det) < 1e-12) return [0, 0];
  return [(y1 * s4 - y2 * s3) / det, (s2 * y2 - s3 * y1) / det];
}

/** Mean brightness of each column over the floor's lower half. */
function rawProfile(f: Uint8Array, width: number, height: number): Float64Array {
  const g = groundRow(height);
  const top = Math.min(height - 1, Math.ceil(g + 0.5 * (height - g)));
  const p = new Float64Array(width);
  for (let y = top; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      p[x] += 0.299 * f[o] + 0.587 * f[o + 1] + 0.114 * f[o + 2];
    }
  }
  for (let x = 0; x < width; x++) p[x] /= height - top;
  return p;
}

/** rawProfile, or null when the floor shows no pattern (no column stands out). */
function floorProfile(f: Uint8Array, width: number, height: number): Float64Array | null {
  if (height - Math.ceil(groundRow(height)) < 2) return null;
  const p = rawProfile(f, width, height);
  const sorted = [...p].sort((a, b) => a - b);
  const mid = sorted[sorted.length >> 1];
  const marked = p.filter((v) => Math.abs(v - mid) > 4).length;
  return marked < Math.max(3, 0.05 * width) ? null : p;
}

/** The exact camera of a scene, from the world's own camera model. */
function sceneView(
  scene: SceneSpec,
  width: number,
  height: number,
  fps: number,
  source: ViewModel["source"],
): ViewModel {
  const base = cameraAt(scene, 0, width, height);
  const cams = new Map<number, ReturnType<typeof cameraAt>>();
  const camAt = (f: number) => {
    let c = cams.get(f);
    if (!c) {
      c = cameraAt(scene, Math.max(0, f) / fps, width, height);
      cams.set(f, c);
    }
    return c;
  };
  return {
    source,
    camera: scene.camera,
    pixelsPerMetre: base.pixelsPerMetre,
    scaleAt: (f) => camAt(f).pixelsPerMetre / base.pixelsPerMetre,
    toBase: (f, x, y) => {
      const [wx, wy] = pixelToWorld(camAt(f), x, y);
      return worldToPixel(base, wx, wy);
    },
  };
}

/**
 * A zoom makes every object grow together. Fits log(size) against time for each long track
 * and, when they agree on a growth of at least 6% over the clip, returns the magnification
 * as a function of the frame (a quadratic in time through 1 at frame 0).
 */
function measureZoom(input: ViewInput): ((frame: number) => number) | null {
  const { fps, frames } = input;
  const duration = (frames - 1) / fps;
  if (duration <= 0) return null;
  const t: number[] = [];
  const y: number[] = [];
  const slopes: number[] = [];
  for (const tr of input.tracks) {
    const whole = tr.obs.filter((o) => !o.partial && o.area >= 4);
    if (whole.length < Math.max(6, 0.3 * frames)) continue;
    const ts = whole.map((o) => o.frame / fps);
    const ls = whole.map((o) => 0.5 * Math.log(o.area));
    const fit = polyFit(ts, ls, 1);
    slopes.push(fit.c[1]);
    const mean = ls.reduce((a, v) => a + v, 0) / ls.length;
    const tMean = ts.reduce((a, v) => a + v, 0) / ts.length;
    // Per-track offsets removed; what is left is the common growth around each track's middle.
    ts.forEach((v, i) => {
      t.push(v - tMean);
      y.push(ls[i] - mean);
    });
  }
  if (slopes.length === 0 || t.length < 6) return null;
  const growing = slopes.filter((s) => s * duration > 0.06).length;
  if (growing < Math.max(1, Math.ceil(slopes.length * 0.75))) return null;
  const rate = polyFit(t, y, 1).c[1];
  if (!(rate * duration > 0.06)) return null;
  return (frame: number) => Math.exp((rate * frame) / fps);
}

/**
 * A pan slides the scenery (occluders, posts) sideways. Compares each frame's column profile of
 * scenery pixels with the first frame's and returns the per-frame offset (base minus observed
 * x, in pixels: positive when the view moves right) when the scenery clearly moves, null when
 * it clearly stays, and "featureless" when there is too little scenery to tell.
 */
function measurePan(input: ViewInput): number[] | null | "featureless" {
  const { width, height, scenery } = input;
  if (scenery.length < 2) return "featureless";
  const top = Math.floor(groundRow(height));
  const profile = (mask: Uint8Array) => {
    const p = new Float64Array(width);
    for (let y = 0; y < top; y++) for (let x = 0; x < width; x++) p[x] += mask[y * width + x];
    return p;
  };
  const ref = profile(scenery[0]);
  const mass = ref.reduce((a, v) => a + v, 0);
  if (mass < top) return "featureless";
  const maxShift = Math.ceil(width / 3);
  const offsets: number[] = [0];
  let prev = 0;
  for (let f = 1; f < scenery.length; f++) {
    const p = profile(scenery[f]);
    // Search near the previous offset: a pan is smooth.
    let best = prev;
    let bestCost = Number.POSITIVE_INFINITY;
    const costs = new Map<number, number>();
    for (let s = Math.max(-maxShift, prev - 4); s <= Math.min(maxShift, prev + 4); s++) {
      let c = 0;
      let n = 0;
      for (let x = 0; x < width; x++) {
        const xs = x - s;
        if (xs < 0 || xs >= width) continue;
        c += Math.abs(p[xs] - ref[x]);
        n++;
      }
      const cost = n > width / 2 ? c / n : Number.POSITIVE_INFINITY;
      costs.set(s, cost);
      if (cost < bestCost) {
        bestCost = cost;
        best = s;
      }
    }
    // Parabolic refinement between the neighbouring shifts.
    const cm = costs.get(best - 1);
    const cp = costs.get(best + 1);
    let sub = 0;
    if (cm !== undefined && cp !== undefined && Number.isFinite(cm) && Number.isFinite(cp)) {
      const den = cm - 2 * bestCost + cp;
      if (den > 0) sub = Math.max(-0.5, Math.min(0.5, (0.5 * (cm - cp)) / den));
    }
    prev = best;
    offsets.push(best + sub);
  }
  const drift = Math.abs(offsets[offsets.length - 1]);
  if (drift < 1) return null;
  // Each frame's match is good to about a pixel; a camera moves smoothly, so a cubic in time
  // through zero at the first frame gives its sub-pixel course.
  const t = offsets.map((_, f) => f / offsets.length);
  const fit = cubicThroughZero(t, offsets);
  return t.map((u) => fit[0] * u + fit[1] * u * u + fit[2] * u * u * u);
}

/**
 * A pan slides the floor's texture (the world's floor marks, or any pattern on the floor)
 * sideways. Compares each frame's brightness profile along the floor's lower half (below the
 * objects' shadows) with the first frame's, as measurePan does with scenery; "featureless"
 * when the floor has no pattern to follow.
 */
function measureFloorPan(
  frames: Uint8Array[],
  width: number,
  height: number,
): number[] | null | "featureless" {
  if (frames.length < 2) return "featureless";
  const ref = floorProfile(frames[0], width, height);
  if (!ref) return "featureless";
  const maxShift = Math.ceil(width / 3);
  const offsets: number[] = [0];
  let prev = 0;
  for (let f = 1; f < frames.length; f++) {
    const p = rawProfile(frames[f], width, height);
    let best = prev;
    let bestCost = Number.POSITIVE_INFINITY;
    const costs = new Map<number, number>();
    for (let s = Math.max(-maxShift, prev - 3); s <= Math.min(maxShift, prev + 3); s++) {
      let c = 0;
      let n = 0;
      for (let x = 0; x < width; x++) {
        const xs = x - s;
        if (xs < 0 || xs >= width) continue;
        c += Math.abs(p[xs] - ref[x]);
        n++;
      }
      const cost = n > width / 2 ? c / n : Number.POSITIVE_INFINITY;
      costs.set(s, cost);
      if (cost < bestCost) {
        bestCost = cost;
        best = s;
      }
    }
    const cm = costs.get(best - 1);
    const cp = costs.get(best + 1);
    let sub = 0;
    if (cm !== undefined && cp !== undefined && Number.isFinite(cm) && Number.isFinite(cp)) {
      const den = cm - 2 * bestCost + cp;
      if (den > 0) sub = Math.max(-0.5, Math.min(0.5, (0.5 * (cm - cp)) / den));
    }
    prev = best;
    offsets.push(best + sub);
  }
  if (Math.abs(offsets[offsets.length - 1]) < 1) return null;
  const t = offsets.map((_, f) => f / offsets.length);
  const fit = cubicThroughZero(t, offsets);
  return t.map((u) => fit[0] * u + fit[1] * u * u + fit[2] * u * u * u);
}

/** Least squares y ≈ a·t + b·t² + c·t³ (no constant term), returning [a, b, c]. */
function cubicThroughZero(t: number[], y: number[]): [number, number, number] {
  const m = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const v = [0, 0, 0];
  t.forEach((u, i) => {
    const p = [u, u * u, u * u * u];
    for (let r = 0; r < 3; r++) {
      v[r] += p[r] * y[i];
      for (let c = 0; c < 3; c++) m[r][c] += p[r] * p[c];
    }
  });
  // Gaussian elimination on the 3×3 normal equations.
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r][col]) > Math.abs(m[piv][col])) piv = r;
    [m[col], m[piv]] = [m[piv], m[col]];
    [v[col], v[piv]] = [v[piv], v[col]];
    if (Math.abs(m[col][col]) < 1e-12) return [0, 0, 0];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c < 3; c++) m[r][c] -= f * m[col][c];
      v[r] -= f * v[col];
    }
  }
  return [v[0] / m[0][0], v[1] / m[1][1], v[2] / m[2][2]];
}

/** Tracks with every observation moved to base pixels (pan and zoom taken out). */
export function rebaseTracks(tracks: Track[], view: ViewModel): Track[] {
  return tracks.map((t) => ({
    ...t,
    obs: t.obs.map((o) => {
      const s = view.scaleAt(o.frame);
      const [cx, cy] = view.toBase(o.frame, o.cx, o.cy);
      const [x0, y0] = view.toBase(o.frame, o.bbox[0], o.bbox[1]);
      const [x1, y1] = view.toBase(o.frame, o.bbox[2], o.bbox[3]);
      const bottom = view.toBase(o.frame, o.cx, o.bottom)[1];
      return {
        ...o,
        cx,
        cy,
        bbox: [x0, y0, x1, y1] as [number, number, number, number],
        bottom,
        area: o.area / (s * s),
      };
    }),
  }));
}
