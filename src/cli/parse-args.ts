/**
 * Parsers for numeric command-line options. Commander calls them with the raw text; throwing
 * InvalidArgumentError makes it print "error: option '--width <n>' argument 'abc' is invalid.
 * <our reason>" and exit non-zero, with no stack trace.
 */
import { InvalidArgumentError } from "commander";
import { assertBuckets, type Bucket } from "../data/buckets.ts";
import { checkObjectCounts } from "../data/world-stream.ts";
import { MAX_FPS, MAX_FRAME_SIDE, MAX_SECONDS } from "../world/validate.ts";

/** A parser for integers in [min, max]. */
export function intIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text.trim());
    if (text.trim() === "" || !Number.isInteger(value)) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    if (value < min || value > max) {
      throw new InvalidArgumentError(`Must be from ${min} to ${max}.`);
    }
    return value;
  };
}

/** A parser for finite numbers in (min, max] (min exclusive when `exclusiveMin`). */
export function numberIn(min: number, max: number, exclusiveMin = true): (text: string) => number {
  const range = exclusiveMin ? `above ${min} and at most ${max}` : `from ${min} to ${max}`;
  return (text) => {
    const value = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`Expected a number ${range}.`);
    }
    if (value > max || value < min || (exclusiveMin && value === min)) {
      throw new InvalidArgumentError(`Must be ${range}.`);
    }
    return value;
  };
}

/** Limits shared by the commands (the simulator's own, so a parsed option is always accepted). */
export const LIMITS = {
  size: [8, MAX_FRAME_SIDE] as const,
  fps: [1, MAX_FPS] as const,
  seconds: [0, MAX_SECONDS] as const,
  seed: [0, 4294967295] as const,
  count: [1, 1_000_000] as const,
};

/**
 * --object-counts: relative frequencies of training scenes with 1, 2, … objects, e.g. "4,3,2,1"
 * (at most MAX_SAMPLED_OBJECTS numbers, non-negative, not all zero).
 */
export function parseObjectCounts(text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  const counts = parts.map(Number);
  if (parts.some((p) => p === "") || counts.some((c) => !Number.isFinite(c)))
    throw new InvalidArgumentError(
      `Expected numbers separated by commas (relative frequencies of scenes with 1, 2, … objects, e.g. 4,3,2,1), got "${text}".`,
    );
  try {
    checkObjectCounts(counts);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return counts;
}

/** Parses "64x64x24,96x64x24" into buckets (width × height × frames). */
export function parseBuckets(text: string): Bucket[] {
  const buckets = text.split(",").map((part) => {
    const m = /^\s*(\d+)x(\d+)x(\d+)\s*$/.exec(part);
    if (!m) {
      throw new InvalidArgumentError(
        `Expected WIDTHxHEIGHTxFRAMES entries separated by commas (e.g. 64x64x24,96x64x24), got "${part}".`,
      );
    }
    return { width: Number(m[1]), height: Number(m[2]), frames: Number(m[3]) };
  });
  const [lo, hi] = LIMITS.size;
  for (const b of buckets) {
    if (b.width < lo || b.width > hi || b.height < lo || b.height > hi) {
      throw new InvalidArgumentError(`Bucket sizes must be from ${lo} to ${hi} pixels.`);
    }
  }
  try {
    assertBuckets(buckets, "--buckets");
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return buckets;
}
