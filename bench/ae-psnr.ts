/**
 * The autoencoder's reconstruction quality on held-out world clips (issue 10's model card: PSNR
 * ≥ 30 dB at 64×64). Held-out clips are made from seeds 1,000,000,000 + i with makeWorldClip;
 * the training stream derives its clip seeds by hashing (seed, batch, slot), so it meets one of
 * these with probability ~ clips seen / 2³².
 *
 *   npx tsx bench/ae-psnr.ts <autoencoder.safetensors | run-dir> [--clips 64] [--fps 8]
 *     [--encoder <autoencoder.safetensors>]   (a decoder-only run from before session 15)
 *     [--frames 17] [--sheet recon.png]
 *
 * A run folder means its newest checkpoint's EMA weights. Prints PSNR per clip kind (17-frame
 * clips and 1-frame images), mean and median, the worst clips, and the CPU. --sheet writes a
 * picture of the first 3 clips: frames 0, 4, 8, 12, 16, each clip's row above its reconstruction.
 */
import { writeFileSync } from "node:fs";
import { makeWorldClip } from "../src/data/world-stream.ts";
import { arrayToVideos, psnr, videosToTensor } from "../src/models/video-tensor.ts";
import { encodePng } from "../src/server/png.ts";
import { cpuModel } from "./cpu-info.ts";
import { loadBenchAutoencoder } from "./load-autoencoder.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const source = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const sheetIndex = args.indexOf("--sheet");
const SHEET = sheetIndex < 0 ? null : args[sheetIndex + 1];
// A decoder-only run's encoder, when its checkpoints do not name it (before session 15).
const encoderIndex = args.indexOf("--encoder");
const ENCODER = encoderIndex < 0 ? undefined : args[encoderIndex + 1];
if (!source) throw new Error("usage: bench/ae-psnr.ts <autoencoder.safetensors | run-dir>");
const CLIPS = opt("--clips", 64);
const FPS = opt("--fps", 8);
const FIRST_SEED = 1_000_000_000;

const { ae, cfg, file, step } = await loadBenchAutoencoder(source, undefined, ENCODER);
const device = ae.device;

// 17 frames (2.1 s at 8 fps) whatever the autoencoder's time step, so that candidates compare.
const frames = opt("--frames", 17);
if (!Number.isInteger(frames) || frames < 1 || (frames - 1) % cfg.temporalDown !== 0)
  throw new Error(
    `--frames ${frames}: this autoencoder takes 1 + k·${cfg.temporalDown} frames (e.g. ${1 + 4 * cfg.temporalDown})`,
  );
console.log(`CPU: ${cpuModel().model}; weights ${file} (step ${step})`);
const results: { kind: string; seed: number; db: number }[] = [];
const SHEET_FRAMES = [0, 4, 8, 12, 16].filter((f) => f < frames);
const sheetRows: Uint8Array[][] = [];
for (const [kind, n] of [
  ["clip", frames],
  ["image", 1],
] as const) {
  for (let i = 0; i < CLIPS; i++) {
    const seed = FIRST_SEED + i;
    const clip = makeWorldClip(seed, { width: 64, height: 64, frames: n }, FPS);
    const x = videosToTensor(device, [clip.video]);
    const z = await ae.encodeFrames(x);
    const rec = await ae.decodeLatent(z);
    const [video] = arrayToVideos(await rec.toArray(), rec.shape, FPS);
    results.push({ kind, seed, db: psnr(video, clip.video) });
    if (kind === "clip" && i < 3) {
      sheetRows.push(SHEET_FRAMES.map((f) => clip.video.frames[f]));
      sheetRows.push(SHEET_FRAMES.map((f) => video.frames[f]));
    }
    for (const t of [x, z, rec]) t.dispose();
  }
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `mean ${mean.toFixed(2)} dB, median ${s[Math.floor(s.length / 2)].toFixed(2)}, min ${s[0].toFixed(2)}`;
};
for (const kind of ["clip", "image"]) {
  const r = results.filter((x) => x.kind === kind);
  console.log(
    `${kind}s (64×64×${kind === "clip" ? frames : 1}, ${r.length}): ${stats(r.map((x) => x.db))}`,
  );
}
const worst = [...results].sort((a, b) => a.db - b.db).slice(0, 5);
console.log(
  `worst: ${worst.map((w) => `${w.kind} seed ${w.seed} ${w.db.toFixed(1)} dB`).join("; ")}`,
);

if (SHEET) {
  // 3× nearest-neighbour, frames side by side, originals above reconstructions.
  const k = 3;
  const side = 64 * k;
  const [w, h] = [side * SHEET_FRAMES.length, side * sheetRows.length];
  const rgb = new Uint8Array(w * h * 3);
  sheetRows.forEach((row, r) => {
    row.forEach((frame, c) => {
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) {
          const src = (Math.floor(y / k) * 64 + Math.floor(x / k)) * 3;
          const dst = ((r * side + y) * w + c * side + x) * 3;
          rgb.set(frame.subarray(src, src + 3), dst);
        }
    });
  });
  writeFileSync(SHEET, encodePng(rgb, w, h));
  console.log(`wrote ${SHEET}`);
}
