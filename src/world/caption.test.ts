import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CaptionEvent, captionScene, captionVariants } from "./caption.ts";
import type { SceneConstraints } from "./constraints.ts";
import { PLACES } from "./place.ts";
import { parsePrompt } from "./prompt.ts";
import { constraintViolations, sampleScene } from "./sample.ts";
import type { SceneSpec } from "./scene.ts";

/** Parses a caption and checks it pins down everything about the scene, and nothing false. */
function roundTrip(scene: SceneSpec, caption: string): SceneConstraints {
  const { constraints, unknownWords } = parsePrompt(caption);
  const where = `\n${caption}\n${JSON.stringify(constraints)}`;
  assert.deepEqual(unknownWords, [], where);
  assert.deepEqual(constraintViolations(scene, constraints), [], where);
  // Every property of every object is stated, not just left open.
  assert.equal(constraints.objects.length, scene.objects.length, where);
  for (const o of constraints.objects) {
    for (const key of ["shape", "color", "size", "material", "motion"] as const)
      assert.ok(o[key] !== undefined, `${key} missing${where}`);
    if (o.motion === "thrown" || o.motion === "rolled") assert.ok(o.direction, `direction${where}`);
  }
  assert.equal(constraints.theme, scene.theme, where);
  assert.equal(constraints.camera, scene.camera, where);
  assert.equal(constraints.count, scene.objects.length, where);
  assert.equal(constraints.occluders.length, scene.occluders.length, where);
  assert.ok(constraints.occluderLayers?.every((l) => l !== null) ?? scene.occluders.length === 0);
  return constraints;
}

/** Plausible events for a scene: bounces, a collision, one object hidden and seen again. */
function eventsFor(scene: SceneSpec, seed: number): CaptionEvent[] {
  const events: CaptionEvent[] = [];
  for (const o of scene.objects) {
    if (o.motion === "resting") continue;
    for (let k = 0; k < (seed + o.id) % 5; k++) events.push({ kind: "bounce", objects: [o.id] });
  }
  if (scene.objects.length >= 2) events.push({ kind: "collision", objects: [1, 0] });
  if (seed % 3 === 0)
    events.push({ kind: "hidden", objects: [0] }, { kind: "reappear", objects: [0] });
  if (seed % 4 === 1) events.push({ kind: "leave", objects: [scene.objects.length - 1] });
  if (seed % 5 === 2) events.push({ kind: "enter", objects: [0] });
  return events;
}

describe("captionScene round trips through the parser", () => {
  it("for many sampled scenes", () => {
    for (let seed = 0; seed < 800; seed++) {
      const scene = sampleScene(seed);
      roundTrip(scene, captionScene(scene, seed * 31 + 5));
    }
  });

  it("with events", () => {
    for (let seed = 0; seed < 500; seed++) {
      const scene = sampleScene(seed + 10_000);
      roundTrip(scene, captionScene(scene, seed, eventsFor(scene, seed)));
    }
  });

  it("for scenes of look-alike objects", () => {
    const twins: SceneConstraints = {
      objects: [
        { shape: "ball", color: "red", size: "small" },
        { shape: "ball", color: "red", size: "small" },
        { shape: "ball", color: "red" },
        { shape: "ball", color: "red" },
      ],
      occluders: ["pillar", "pillar"],
    };
    for (let seed = 0; seed < 300; seed++) {
      const scene = sampleScene(seed, twins);
      roundTrip(scene, captionScene(scene, seed, eventsFor(scene, seed)));
    }
  });
});

describe("captionScene wording", () => {
  const scene = sampleScene(11, {
    objects: [
      { shape: "ball", color: "red", size: "small", material: "bouncy", motion: "dropped" },
      {
        shape: "box",
        color: "blue",
        size: "large",
        material: "heavy",
        motion: "rolled",
        direction: "left",
      },
    ],
    occluders: ["pillar"],
    occluderLayers: ["front"],
    theme: "night",
    camera: "pan-right",
  });

  it("is deterministic by seed", () => {
    assert.equal(captionScene(scene, 5), captionScene(scene, 5));
    const events: CaptionEvent[] = [{ kind: "bounce", objects: [0] }];
    assert.equal(captionScene(scene, 5, events), captionScene(scene, 5, events));
  });

  it("varies phrasing, synonyms and clause order across seeds", () => {
    const captions = Array.from({ length: 60 }, (_, seed) => captionScene(scene, seed));
    assert.ok(new Set(captions).size >= 55, `${new Set(captions).size} distinct of 60`);
    // Different openings mean different clause orders, not just different words.
    const openings = new Set(captions.map((c) => c.split(" ").slice(0, 2).join(" ")));
    assert.ok(openings.size >= 8, `only ${openings.size} openings: ${[...openings]}`);
    const all = captions.join(" ");
    for (const word of ["ball", "sphere", "box", "cube", "rubber", "bouncy", "heavy", "night"])
      assert.match(all, new RegExp(`\\b${word}\\b`), word);
    assert.match(all, /\bpans\b/);
  });

  it("mentions size, colour, shape, material, motion, theme, camera and occluder", () => {
    for (let seed = 0; seed < 20; seed++) {
      const c = captionScene(scene, seed).toLowerCase();
      assert.match(c, /\b(small|little|tiny)\b/, c);
      assert.match(c, /\b(large|big)\b/, c);
      assert.match(c, /\b(red|crimson|scarlet)\b/, c);
      assert.match(c, /\bblue\b/, c);
      assert.match(c, /\b(rubber|bouncy|rubbery|springy)\b/, c);
      assert.match(c, /\b(heavy|weighty|dense|iron|metal|steel)\b/, c);
      assert.match(c, /\b(dropped|released|falls)\b/, c);
      assert.match(c, /\b(slides|glides|pushed)\b.*\bleft/, c);
      assert.match(c, /\b(pillar|column)\b/, c);
      assert.match(c, /\bright/, c);
    }
  });

  it("says in which third of the view each object starts", () => {
    const words = { left: /on the left/, middle: /in the (middle|centre)/, right: /on the right/ };
    for (const place of PLACES)
      for (let seed = 0; seed < 10; seed++) {
        const placed = sampleScene(seed, { objects: [{ place }], occluders: [] });
        const c = captionScene(placed, seed);
        assert.match(c, words[place], c);
        assert.equal(parsePrompt(c).constraints.objects[0].place, place, c);
      }
  });

  it("tells what happened when events are given", () => {
    const events: CaptionEvent[] = [
      { kind: "bounce", objects: [0] },
      { kind: "bounce", objects: [0] },
      { kind: "collision", objects: [0, 1] },
      { kind: "hidden", objects: [1] },
      { kind: "reappear", objects: [1] },
      { kind: "leave", objects: [1] },
    ];
    for (let seed = 0; seed < 20; seed++) {
      const c = captionScene(scene, seed, events);
      assert.match(c, /bounces twice/, c);
      assert.match(c, /(collide|bumps into|hits)/, c);
      assert.match(c, /the red ball/i, c);
      assert.match(c, /the blue box/i, c);
      assert.match(c, /disappears behind (a|the) .*(pillar|column) and then reappears/, c);
      assert.match(c, /(leaves the frame|moves out of view)/, c);
    }
    const five = Array.from({ length: 5 }, () => ({ kind: "bounce", objects: [0] }));
    assert.match(captionScene(scene, 3, five), /bounces (five|5) times/);
  });
});

describe("captionVariants", () => {
  it("returns n distinct captions, each a faithful description", () => {
    const scene = sampleScene(99);
    const variants = captionVariants(scene, 8, 1);
    assert.equal(variants.length, 8);
    assert.equal(new Set(variants).size, 8);
    for (const v of variants) roundTrip(scene, v);
    assert.deepEqual(captionVariants(scene, 8, 1), variants);
  });

  it("rejects a bad n", () => {
    assert.throws(() => captionVariants(sampleScene(1), 0, 1), /n must be a positive integer/);
    assert.throws(() => captionVariants(sampleScene(1), 2.5, 1), /n must be a positive integer/);
  });
});

describe("captionScene bad input", () => {
  const scene = sampleScene(4, { objects: [{}, {}], occluders: [] });
  const cases: [() => unknown, RegExp][] = [
    [() => captionScene(scene, 1, [{ kind: "explode", objects: [0] }]), /unknown kind "explode"/],
    [
      () => captionScene(scene, 1, [{ kind: "bounce", objects: [7] }]),
      /names object 7, but the scene has 2/,
    ],
    [() => captionScene(scene, 1, [{ kind: "bounce", objects: [] }]), /names no objects/],
    [() => captionScene(scene, 1, [{ kind: "collision", objects: [0] }]), /two different objects/],
    [() => captionScene({ ...scene, objects: [] }, 1), /no objects to describe/],
    [() => captionScene({ ...scene, theme: "mars" as never }, 1), /unknown theme "mars"/],
    [
      () =>
        captionScene({ ...scene, objects: [{ ...scene.objects[0], color: "teal" as never }] }, 1),
      /unknown colour of object 0 "teal"/,
    ],
    [() => captionScene(scene, Number.POSITIVE_INFINITY), /seed must be a finite number/],
  ];
  for (const [run, message] of cases)
    it(`rejects ${message.source}`, () => assert.throws(run, message));
});
