import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelDifferences } from "./config.ts";
import { getConfig } from "./registry.ts";

describe("modelDifferences", () => {
  it("names what makes two configs different models, and ignores how each was trained", () => {
    const a = getConfig("world-s");
    const trainedOtherwise = getConfig("world-s");
    trainedOtherwise.name = "renamed";
    trainedOtherwise.ae.latentScale = 0.37;
    trainedOtherwise.ae.objectWeight = 0;
    trainedOtherwise.dit.objectWeight = 1;
    assert.deepEqual(modelDifferences(a, trainedOtherwise), []);

    const other = getConfig("world-s");
    other.ae.temporalDown = 3;
    other.dit.layers = 2;
    other.flow.baseTokens = 80;
    delete other.ae.mseWeight;
    assert.deepEqual(modelDifferences(a, other), [
      "ae.temporalDown",
      "dit.layers",
      "flow.baseTokens",
    ]);
    assert.deepEqual(modelDifferences(a, getConfig("world-s-t4")), [
      "ae.decoderBlocks",
      "ae.temporalDown",
    ]);
    assert.deepEqual(modelDifferences(getConfig("world-s-t4"), getConfig("world-s-c32")), [
      "ae.latentChannels",
      "dit.latentChannels",
    ]);
    assert.deepEqual(modelDifferences(a, getConfig("world-s-marks")), [
      "dit.planFlag",
      "dit.startMarks",
    ]);
    assert.deepEqual(modelDifferences(a, getConfig("world-s-flag")), []);
    assert.deepEqual(modelDifferences(a, getConfig("world-s-bounce")), ["dit.startBounce"]);
    // The trajectory head is part of the network (its weights ship), not only of its training.
    assert.deepEqual(modelDifferences(a, getConfig("world-s-traj")), ["dit.trajectoryWeight"]);
    assert.deepEqual(modelDifferences(getConfig("world-s-traj"), getConfig("world-s-joint")), [
      "dit.trajectoryInput",
    ]);
  });
});
