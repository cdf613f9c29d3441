import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expandPrompt } from "./expand.ts";
import { PromptError, parsePrompt } from "./prompt.ts";
import { constraintViolations } from "./sample.ts";

const PROMPTS = [
  "red ball bouncing at night",
  "two blue boxes sliding left on a sunny day",
  "a small heavy green triangle thrown to the right, camera pans left, behind a pillar",
  "three balls underwater",
  "a purple cube at sunset",
  "four red balls indoors, zoom in",
  "two identical small bouncy red balls dropped side by side",
  "a ball rolls behind a box",
  "balls bouncing",
  "three objects",
  "two objects: a white sphere and a black wedge resting",
  "a heavy orange ball thrown left in front of a brick wall and two crates",
  "a lightweight ball dropped to the left, still camera",
  "something yellow bouncing",
  "a ball",
];

describe("expandPrompt", () => {
  it("returns a scene that satisfies the prompt, and a caption that describes that scene", () => {
    for (const prompt of PROMPTS)
      for (let seed = 0; seed < 120; seed++) {
        const r = expandPrompt(prompt, seed);
        const where = `${prompt} / seed ${seed}\n${r.caption}`;
        assert.deepEqual(r.constraints, parsePrompt(prompt).constraints);
        assert.deepEqual(constraintViolations(r.scene, r.constraints), [], where);
        const back = parsePrompt(r.caption);
        assert.deepEqual(back.unknownWords, [], where);
        assert.deepEqual(constraintViolations(r.scene, back.constraints), [], where);
        assert.equal(back.constraints.count, r.scene.objects.length, where);
        // The expansion is longer and more detailed than the prompt.
        assert.ok(r.caption.length > prompt.length, where);
      }
  });

  it("fills what the prompt leaves open from the seed", () => {
    const themes = new Set<string>();
    const captions = new Set<string>();
    for (let seed = 0; seed < 50; seed++) {
      const r = expandPrompt("a red ball", seed);
      themes.add(r.scene.theme);
      captions.add(r.caption);
      assert.equal(r.scene.objects.length, 1);
      assert.equal(r.scene.objects[0].color, "red");
      assert.equal(r.scene.objects[0].shape, "ball");
    }
    assert.equal(themes.size, 5);
    assert.equal(captions.size, 50);
  });

  it("is deterministic by seed", () => {
    const prompt = "two blue boxes sliding left on a sunny day behind a pillar";
    assert.deepEqual(expandPrompt(prompt, 17), expandPrompt(prompt, 17));
    assert.notDeepEqual(expandPrompt(prompt, 17).scene, expandPrompt(prompt, 18).scene);
  });

  it("passes unknown words through", () => {
    const r = expandPrompt("a red ball juggling flamingos", 3);
    assert.deepEqual(r.unknownWords, ["juggling", "flamingos"]);
    assert.equal(r.scene.objects[0].color, "red");
  });

  it("rejects contradictions and bad input with clear errors", () => {
    assert.throws(() => expandPrompt("a red blue ball", 1), PromptError);
    assert.throws(() => expandPrompt("a red blue ball", 1), /"red" and "blue"/);
    assert.throws(() => expandPrompt("", 1), /prompt is empty/);
    assert.throws(() => expandPrompt("a ball", Number.NaN), /seed must be a finite number/);
  });
});
