import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getConfig } from "../models/registry.ts";
import { defaultBuckets } from "./train-action.ts";

describe("train's default clip stream", () => {
  it("trains the bundled sizes on the 17-frame clips generate makes, whatever the time reduction", () => {
    // world-s (2× in time) once trained on 9-frame clips by default: 1 + 4·r frames.
    for (const name of ["world-s", "world-s-t4", "world-s-c32"])
      assert.deepEqual(
        defaultBuckets(getConfig(name)).map((b) => [b.width, b.height, b.frames]),
        [
          [64, 64, 17],
          [64, 64, 1],
        ],
        name,
      );
    const odd = getConfig("world-s");
    odd.ae.temporalDown = 3;
    assert.equal(defaultBuckets(odd)[0].frames, 16, "1 + 3·5, the nearest to 17");
    assert.equal(defaultBuckets(getConfig("tiny"))[0].frames, 9);
  });
});
