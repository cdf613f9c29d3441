/** `zoetrope eval clip.mp4 --prompt "..."`: score any video against its prompt and physics. */
import type { Command } from "commander";
import type { EvalOptions } from "./eval-action.ts";
import { EVAL_LIMITS } from "./eval-limits.ts";
import { intIn } from "./parse-args.ts";

export function addEvalCommand(program: Command): void {
  program
    .command("eval")
    .description(
      `measure a video (MP4 or anything ffmpeg reads) for prompt adherence, physics and object permanence; clips up to ${EVAL_LIMITS.maxSide} px a side and ${(EVAL_LIMITS.maxPixels / 1e6).toFixed(0)} million pixels in all (width × height × frames, e.g. 64×64 for 22 min at 24 fps, 640×480 for 18 s)`,
    )
    .argument("<video>", "(required) the video file to evaluate")
    .option("--prompt <text>", "the prompt the video should show")
    .option("--json <file.json>", "also write the full report as JSON")
    .option(
      "--reference <state.json>",
      "ground truth of the simulated clip the video starts with (`world render --truth` or a dataset's state.json): scores the continuation",
    )
    .option(
      "--context-frames <n>",
      "how many of the video's first frames come from that simulation (required with --reference)",
      intIn(1, 1_000_000),
    )
    .action(async (video: string, opts: EvalOptions) => {
      // Loaded on use, so that --help and usage errors do not wait for the evaluator's modules.
      await (await import("./eval-action.ts")).evalAction(video, opts);
    });
}
