/**
 * Second thoughts on the per-pixel classes (classify.ts), region by region, before blobs are
 * grown from them. Codec noise can tip a single pixel's choice between colours, or between an
 * object and scenery; a connected region tells more than any one of its pixels.
 */
import {
  BLEND_RESIDUAL,
  COLOR_COUNT,
  FAINT,
  type PixelClasses,
  SCENERY,
  SEED_MARGIN,
} from "./classify.ts";
import { neighbours } from "./neighbours.ts";

/** Scratch for neighbours(): filled and read before the next call. */
const NB = new Int32Array(9);

/**
 * Runs every check in order: one colour per region, cracks closed, scenery lines peeled off,
 * and (on a clip whose colour a codec smeared, `chromaSmear` ≥ 1/2) small objects smeared into
 * faint pixels recovered.
 */
export function refineRegions(
  c: PixelClasses,
  width: number,
  height: number,
  chromaSmear: number,
): void {
  judgeRegionColours(c, width, height, chromaSmear);
  closeCracks(c, width, height);
  pruneSceneryLines(c, width, height, chromaSmear);
  if (chromaSmear >= 0.5) promoteFaintClusters(c, width, height);
}

/**
 * Collects into `out` the 8-connected region of pixels that `inside` accepts, starting from
 * `start`, and marks them in `seen`.
 */
function collectRegion(
  start: number,
  width: number,
  height: number,
  inside: (p: number) => boolean,
  seen: Uint8Array,
  stack: Int32Array,
  out: number[],
): void {
  out.length = 0;
  let top = 0;
  stack[top++] = start;
  seen[start] = 1;
  while (top > 0) {
    const p = stack[--top];
    out.push(p);
    const k = neighbours(p, width, height, NB, true);
    for (let i = 0; i < k; i++) {
      const q = NB[i];
      if (!seen[q] && inside(q)) {
        seen[q] = 1;
        stack[top++] = q;
      }
    }
  }
}

/** Most (metric distance) one pixel adds to a colour's misfit over a region. */
const PATCH_MISFIT_CAP = 60;
/**
 * How much worse (metric distance) than its own colour a pixel may fit its region's colour, at
 * full codec smear; with exact colours it must fit it as well.
 */
const RELABEL_SLACK = 15;

/**
 * Gives each connected region of object-coloured pixels one colour, the one most of its pixels
 * chose among those that could seed a blob there (a stripe shade alone makes no object): after
 * encoding, the pixels of a small red ball may each be a little closer to the shade of a pink
 * ball's stripe, while only red can make the ball; an orange box's rim smeared into brown is
 * still the orange box's. Pixels the winner does not explain about as well as their own colour
 * keep it, so two objects of different colours that touch stay two.
 */
function judgeRegionColours(c: PixelClasses, width: number, height: number, smear: number): void {
  const { cls, cover, faintOf, seed, colorRes2, colorCover, colorSeed } = c;
  const n = width * height;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const members: number[] = [];
  const total = new Float64Array(COLOR_COUNT);
  const votes = new Int32Array(COLOR_COUNT);
  const seedable = new Uint8Array(COLOR_COUNT);
  const cap2 = PATCH_MISFIT_CAP * PATCH_MISFIT_CAP;
  const bound2 = BLEND_RESIDUAL * BLEND_RESIDUAL;
  const objectPixel = (p: number) => cls[p] >= 0;
  for (let start = 0; start < n; start++) {
    if (cls[start] < 0 || seen[start]) continue;
    collectRegion(start, width, height, objectPixel, seen, stack, members);
    const mixed = members.some((p) => cls[p] !== cls[start]);
    const seeded = members.some((p) => seed[p] === 1);
    // A region of one colour whose pixels each chose it, and which can grow a blob of it: no
    // colour explains it better.
    if (!mixed && seeded) continue;
    total.fill(0);
    votes.fill(0);
    seedable.fill(0);
    for (const p of members) {
      votes[cls[p]]++;
      for (let i = 0; i < COLOR_COUNT; i++) {
        const q = p * COLOR_COUNT + i;
        total[i] += Math.min(colorRes2[q], cap2);
        if (colorSeed[q]) seedable[i] = 1;
      }
    }
    // Most pixels' own choice wins; the best fit over the patch breaks ties (and decides when
    // no pixel chose a colour that can seed).
    let win = -1;
    for (let i = 0; i < COLOR_COUNT; i++) {
      if (!seedable[i]) continue;
      if (win < 0 || votes[i] > votes[win] || (votes[i] === votes[win] && total[i] < total[win])) {
        win = i;
      }
    }
    if (win < 0) continue;
    for (const p of members) {
      const q = p * COLOR_COUNT + win;
      const own = colorRes2[p * COLOR_COUNT + cls[p]];
      // Only pixels the winner explains nearly as well as their own colour: a small object
      // of another colour touching a big one stays itself.
      const slack = RELABEL_SLACK * smear;
      if (colorRes2[q] > bound2 || Math.sqrt(colorRes2[q]) > Math.sqrt(own) + slack) {
        continue;
      }
      cover[p] = colorCover[q];
      seed[p] = colorSeed[q];
      if (cover[p] < 0.5) {
        cls[p] = FAINT;
        faintOf[p] = win;
      } else cls[p] = win;
    }
  }
}

/**
 * A one-pixel line across an object that its own colour explains too, but that was taken for
 * scenery or a faint blend (a white ball's grey stripe smeared toward a pale occluder's grey):
 * part of the object, so that it is not cut in two.
 */
function closeCracks(c: PixelClasses, width: number, height: number): void {
  const { cls, cover, colorRes2, colorCover } = c;
  const bound2 = BLEND_RESIDUAL * BLEND_RESIDUAL;
  const fill: [number, number][] = [];
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const p = y * width + x;
      if (cls[p] !== SCENERY && cls[p] !== FAINT) continue;
      for (const [dx, dy] of OPPOSITE) {
        const a = cls[p + dy * width + dx];
        if (a < 0 || a !== cls[p - dy * width - dx]) continue;
        if (colorRes2[p * COLOR_COUNT + a] <= bound2) {
          fill.push([p, a]);
          break;
        }
      }
    }
  }
  for (const [p, a] of fill) {
    cls[p] = a;
    cover[p] = Math.max(0.5, colorCover[p * COLOR_COUNT + a]);
  }
}
const OPPOSITE: [number, number][] = [
  [1, 0],
  [0, 1],
  [1, 1],
  [1, -1],
];

/**
 * How much better (metric distance) than scenery an object pixel must fit its colour not to be
 * in doubt, after full codec smear (codec noise blurs which explanation is the better one).
 */
const SMEARED_DOUBT = 12;

/**
 * Lines of object-coloured pixels, one pixel thick, that scenery explains about as well are an
 * occluder's edge, not part of an object, even where they run into one: after encoding, a pale
 * pillar's soft edge over a night sky fits a white blend as well as the pillar's. They are peeled
 * off (pixels with at most two neighbours of their colour, repeatedly), leaving the stripes and
 * rims inside objects, which have more.
 */
function pruneSceneryLines(c: PixelClasses, width: number, height: number, smear: number): void {
  const doubt = SMEARED_DOUBT * smear;
  if (doubt <= 0) return;
  const { cls, colorRes2, sceneryRes2 } = c;
  const n = width * height;
  const doubtful = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    if (cls[p] < 0) continue;
    const d = Math.sqrt(colorRes2[p * COLOR_COUNT + cls[p]]);
    if (Math.sqrt(sceneryRes2[p]) < d + doubt) doubtful[p] = 1;
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (let p = 0; p < n; p++) {
      if (!doubtful[p] || cls[p] < 0) continue;
      let same = 0;
      const k = neighbours(p, width, height, NB);
      for (let i = 0; i < k; i++) if (cls[NB[i]] === cls[p]) same++;
      if (same <= 2) {
        cls[p] = SCENERY;
        changed = true;
      }
    }
  }
}

/** Whether pixel p has an object or scenery pixel among its 8 neighbours. */
function touchesObjectOrScenery(cls: Int8Array, width: number, height: number, p: number): boolean {
  const count = neighbours(p, width, height, NB, true);
  for (let i = 0; i < count; i++) {
    const k = cls[NB[i]];
    if (k >= 0 || k === SCENERY) return true;
  }
  return false;
}

/** Least summed coverage (px²) of faint pixels that make a small, smeared object. */
const MIN_FAINT_MASS = 2.5;
/** The best-covered of them must be covered at least this much. */
const MIN_FAINT_PEAK = 0.25;
/** How much better (metric distance) than scenery a faint pixel must fit its colour to join. */
const FAINT_SCENERY_MARGIN = 3;

/**
 * A codec can smear an object a couple of pixels across into a cluster of faint pixels, none of
 * them even half covered, while their coverage still adds up to the object's area. Such a
 * cluster, touching neither object pixels (it would be their rim) nor scenery, becomes an object
 * of the colour that explains it best, its pixels weighted by their coverage, provided its
 * best-covered pixel is that colour beyond doubt.
 */
function promoteFaintClusters(c: PixelClasses, width: number, height: number): void {
  const { cls, cover, faintOf, seed, colorRes2, colorCover, sceneryRes2 } = c;
  const n = width * height;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const members: number[] = [];
  const total = new Float64Array(COLOR_COUNT);
  const cap2 = PATCH_MISFIT_CAP * PATCH_MISFIT_CAP;
  // Faint pixels that scenery explains about as well (an occluder's soft edge) are no part of it.
  const objectish = (p: number) =>
    cls[p] === FAINT &&
    Math.sqrt(sceneryRes2[p]) >
      Math.sqrt(colorRes2[p * COLOR_COUNT + faintOf[p]]) + FAINT_SCENERY_MARGIN;
  for (let start = 0; start < n; start++) {
    if (!objectish(start) || seen[start]) continue;
    collectRegion(start, width, height, objectish, seen, stack, members);
    const touches = members.some((p) => touchesObjectOrScenery(cls, width, height, p));
    if (touches) continue;
    total.fill(0);
    for (const p of members) {
      for (let i = 0; i < COLOR_COUNT; i++)
        total[i] += Math.min(colorRes2[p * COLOR_COUNT + i], cap2);
    }
    let win = 0;
    for (let i = 1; i < COLOR_COUNT; i++) if (total[i] < total[win]) win = i;
    let mass = 0;
    let peak = -1;
    for (const p of members) {
      const q = p * COLOR_COUNT + win;
      if (colorRes2[q] > BLEND_RESIDUAL * BLEND_RESIDUAL) continue;
      mass += colorCover[q];
      if (peak < 0 || colorCover[q] > colorCover[peak * COLOR_COUNT + win]) peak = p;
    }
    if (mass < MIN_FAINT_MASS || peak < 0) continue;
    const q = peak * COLOR_COUNT + win;
    const clear = Math.sqrt(sceneryRes2[peak]) >= Math.sqrt(colorRes2[q]) + SEED_MARGIN;
    if (colorCover[q] < MIN_FAINT_PEAK || !clear) continue;
    for (const p of members) {
      const r = p * COLOR_COUNT + win;
      if (colorRes2[r] > BLEND_RESIDUAL * BLEND_RESIDUAL) continue;
      cls[p] = win;
      cover[p] = colorCover[r];
      faintOf[p] = -1;
    }
    seed[peak] = 1;
  }
}
