/**
 * The sampler settings every entry point uses when none are given (CLI, library, server, the
 * browser page). Guidance 2 scored best of 1.5, 2 and 4 on world-s (40 fresh prompts at step
 * 2,000 of its shifted-timestep piece, `bench/model-eval.ts --guidance g`: adherence 0.613,
 * 0.634, 0.610; at 4 the named colour spreads over more objects, count 0.16 against 0.33).
 */
export const DEFAULT_STEPS = 30;
export const DEFAULT_GUIDANCE = 2;
