import assert from "node:assert/strict";
import { it } from "node:test";
import { formatSeconds } from "./train-action.ts";

it("formats a training ETA without a 60th second", () => {
  assert.equal(formatSeconds(3659.6), "61m00s"); // was "60m60s"
  assert.equal(formatSeconds(59.6), "1m00s");
  assert.equal(formatSeconds(65.2), "1m05s");
  assert.equal(formatSeconds(42.4), "42s");
  assert.equal(formatSeconds(Number.POSITIVE_INFINITY), "?");
});
