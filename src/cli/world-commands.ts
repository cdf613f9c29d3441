/**
 * `zoetrope world render` (one clip from a prompt) and `zoetrope world dataset` (N captioned
 * clips with ground truth, for training).
 */
import type { Command } from "commander";
import { MAX_CLIP_BYTES } from "../world/validate.ts";
import { intIn, LIMITS, numberIn, parseBuckets } from "./parse-args.ts";
import type { ClipShapeOptions, DatasetOptions, RenderOptions } from "./world-actions.ts";

const MAX_CLIP_GIB = MAX_CLIP_BYTES / 2 ** 30;

/** The --seed/--width/--height/--fps/--seconds options both world commands share. */
function addClipShapeOptions(
  cmd: Command,
  d: Omit<ClipShapeOptions, "seed" | "lossless">,
): Command {
  const [sLo, sHi] = LIMITS.size;
  const [fLo, fHi] = LIMITS.fps;
  return cmd
    .option(
      "--seed <n>",
      `random seed, ${LIMITS.seed[0]} to ${LIMITS.seed[1]}: same seed, same output`,
      intIn(...LIMITS.seed),
      0,
    )
    .option("--width <px>", `frame width in pixels, ${sLo} to ${sHi}`, intIn(sLo, sHi), d.width)
    .option("--height <px>", `frame height in pixels, ${sLo} to ${sHi}`, intIn(sLo, sHi), d.height)
    .option("--fps <n>", `frames per second, ${fLo} to ${fHi}`, numberIn(fLo, fHi, false), d.fps)
    .option(
      "--seconds <s>",
      `clip length in seconds, above ${LIMITS.seconds[0]} up to ${LIMITS.seconds[1]} (and at most ${MAX_CLIP_GIB} GiB of raw frames: width × height × 3 × frames)`,
      numberIn(...LIMITS.seconds),
      d.seconds,
    )
    .option(
      "--lossless",
      "store frames bit-exactly (larger files that browsers may not play; best for eval and training)",
      false,
    );
}

export function addWorldCommands(program: Command): void {
  const world = program
    .command("world")
    .description("the procedural physics world: render clips and export training data");

  addClipShapeOptions(
    world
      .command("render")
      .description("simulate one clip from a short prompt and write it as MP4")
      .requiredOption(
        "--prompt <text>",
        '(required) what to show, e.g. "red ball bouncing at night"; at most 1000 characters',
      )
      .requiredOption(
        "-o, --output <file.mp4>",
        "(required) where to write the video; missing folders are created, an existing file is replaced only once the new one is complete",
      )
      .option("--truth <file.json>", "also write the scene and per-frame ground truth as JSON"),
    { width: 128, height: 128, fps: 24, seconds: 3 },
  ).action(async (opts: RenderOptions) => {
    // Loaded on use, so that --help and usage errors do not wait for the world's modules.
    await (await import("./world-actions.ts")).renderAction(opts);
  });

  addClipShapeOptions(
    world
      .command("dataset")
      .description(
        "simulate N captioned clips into a folder (clip.mp4, caption.txt, state.json each)",
      )
      .option(
        "--count <n>",
        `(required unless --resume) number of clips, ${LIMITS.count[0]} to ${LIMITS.count[1]}`,
        intIn(...LIMITS.count),
      )
      .requiredOption(
        "-o, --output <dir>",
        "(required) folder to write: created if missing; must be empty or an earlier run of the same dataset, which is then continued",
      )
      .option(
        "--resume",
        "continue the unfinished dataset in --output with the settings it was started with",
        false,
      )
      .option(
        "--buckets <list>",
        "several clip shapes as WIDTHxHEIGHTxFRAMES,... (overrides --width/--height/--seconds)",
        parseBuckets,
      ),
    { width: 64, height: 64, fps: 12, seconds: 2 },
  ).action(async (opts: DatasetOptions) => {
    await (await import("./world-actions.ts")).datasetAction(opts);
  });
}
