import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertBuckets,
  type Bucket,
  bucketKey,
  defaultBuckets,
  makeBuckets,
  nearestBucket,
} from "./buckets.ts";

const buckets: Bucket[] = [
  { width: 64, height: 64, frames: 12 },
  { width: 96, height: 64, frames: 12 },
  { width: 96, height: 64, frames: 24 },
  { width: 192, height: 128, frames: 12 },
  { width: 64, height: 96, frames: 12 },
];

describe("nearestBucket", () => {
  it("prefers the closest aspect ratio", () => {
    assert.deepEqual(nearestBucket(1920, 1080, 1000, buckets.slice(0, 3)), buckets[2]);
    assert.deepEqual(nearestBucket(720, 1280, 1000, buckets), buckets[4]);
    assert.deepEqual(nearestBucket(500, 480, 1000, buckets), buckets[0]);
  });

  it("then the closest pixel count, then the longest clip that fits", () => {
    assert.deepEqual(nearestBucket(200, 130, 1000, buckets), buckets[3]);
    assert.deepEqual(nearestBucket(100, 66, 1000, buckets), buckets[2]);
    assert.deepEqual(nearestBucket(100, 66, 20, buckets), buckets[1]);
  });

  it("returns null when the clip is shorter than every bucket", () => {
    assert.equal(nearestBucket(96, 64, 11, buckets), null);
  });
});

describe("bucket helpers", () => {
  it("makeBuckets crosses sizes and durations", () => {
    const made = makeBuckets(
      [
        [64, 64],
        [96, 64],
      ],
      [0.5, 2],
      12,
    );
    assert.deepEqual(made.map(bucketKey), ["64x64x6", "64x64x24", "96x64x6", "96x64x24"]);
    assert.equal(defaultBuckets(10).length, 6);
  });

  it("assertBuckets names the bad field", () => {
    assert.throws(() => assertBuckets([]), /need at least one bucket/);
    assert.throws(
      () => assertBuckets([{ width: 64, height: 0, frames: 3 }]),
      /buckets\[0\]: height must be a positive integer, got 0/,
    );
    assert.throws(
      () => assertBuckets([buckets[0], { ...buckets[0] }]),
      /bucket 64x64x12 is listed twice/,
    );
    assert.throws(() => makeBuckets([[64, 64]], [1], 0), /fps must be > 0/);
  });
});
