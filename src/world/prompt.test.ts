import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../util/rng.ts";
import type { SceneConstraints } from "./constraints.ts";
import { PromptError, parsePrompt } from "./prompt.ts";
import { constraintViolations, sampleScene } from "./sample.ts";
import { COLOR_NAMES, THEMES } from "./scene.ts";
import { LEXICON, wordsFor } from "./vocabulary.ts";

function parsed(text: string): SceneConstraints {
  const { constraints, unknownWords } = parsePrompt(text);
  assert.deepEqual(unknownWords, [], `unknown words in "${text}"`);
  return constraints;
}

describe("parsePrompt: the brief's examples", () => {
  it("red ball bouncing at night", () => {
    assert.deepEqual(parsed("red ball bouncing at night"), {
      objects: [{ shape: "ball", color: "red", bounces: true }],
      occluders: [],
      count: 1,
      theme: "night",
    });
  });

  it("two blue boxes sliding left on a sunny day", () => {
    const box = { shape: "box", color: "blue", motion: "rolled", direction: "left" };
    assert.deepEqual(parsed("two blue boxes sliding left on a sunny day"), {
      objects: [box, box],
      occluders: [],
      count: 2,
      theme: "day",
    });
  });

  it("a small heavy green triangle thrown to the right, camera pans left, behind a pillar", () => {
    assert.deepEqual(
      parsed("a small heavy green triangle thrown to the right, camera pans left, behind a pillar"),
      {
        objects: [
          {
            shape: "triangle",
            size: "small",
            material: "heavy",
            color: "green",
            motion: "thrown",
            direction: "right",
          },
        ],
        occluders: ["pillar"],
        occluderLayers: ["front"],
        count: 1,
        camera: "pan-left",
      },
    );
  });

  it("three balls underwater", () => {
    assert.deepEqual(parsed("three balls underwater"), {
      objects: [{ shape: "ball" }, { shape: "ball" }, { shape: "ball" }],
      occluders: [],
      count: 3,
      theme: "underwater",
    });
  });

  it("a purple cube at sunset", () => {
    assert.deepEqual(parsed("a purple cube at sunset"), {
      objects: [{ shape: "box", color: "purple" }],
      occluders: [],
      count: 1,
      theme: "sunset",
    });
  });
});

describe("parsePrompt: words", () => {
  it("maps shape synonyms and plurals", () => {
    assert.equal(parsed("a sphere").objects[0].shape, "ball");
    assert.equal(parsed("an orb").objects[0].shape, "ball");
    assert.equal(parsed("a block").objects[0].shape, "box");
    assert.equal(parsed("a wedge").objects[0].shape, "triangle");
    assert.deepEqual(parsed("cubes").objects, [{ shape: "box" }, { shape: "box" }]);
    // A plural with no number leaves the total open.
    assert.equal(parsed("balls bouncing").count, undefined);
  });

  it("reads numbers as words and digits", () => {
    assert.equal(parsed("2 red balls and 1 green cube").count, 3);
    assert.equal(parsed("four triangles").objects.length, 4);
    assert.equal(parsed("a pair of cubes").objects.length, 2);
    assert.equal(parsed("one ball").objects.length, 1);
    const c = parsed("two red balls and a blue box");
    assert.deepEqual(c.objects, [
      { shape: "ball", color: "red" },
      { shape: "ball", color: "red" },
      { shape: "box", color: "blue" },
    ]);
  });

  it("attaches adjectives to the nearest following noun and participles to the noun before", () => {
    assert.deepEqual(
      parsed("a small red ball and a large bouncy blue triangle rolling right").objects,
      [
        { shape: "ball", size: "small", color: "red" },
        {
          shape: "triangle",
          size: "large",
          material: "bouncy",
          color: "blue",
          motion: "rolled",
          direction: "right",
        },
      ],
    );
    assert.deepEqual(parsed("a rolling ball, a resting box").objects, [
      { shape: "ball", motion: "rolled" },
      { shape: "box", motion: "resting" },
    ]);
    assert.deepEqual(parsed("the ball is red").objects, [{ shape: "ball", color: "red" }]);
    assert.deepEqual(parsed("a ball made of rubber falls").objects, [
      { shape: "ball", material: "bouncy", motion: "dropped" },
    ]);
    assert.deepEqual(parsed("a red ball and a blue one").objects, [
      { shape: "ball", color: "red" },
      { shape: "ball", color: "blue" },
    ]);
  });

  it("knows every colour, size and material by name", () => {
    for (const color of COLOR_NAMES)
      assert.equal(parsed(`a ${color} ball`).objects[0].color, color);
    assert.equal(parsed("a crimson ball").objects[0].color, "red");
    assert.equal(parsed("a violet ball").objects[0].color, "purple");
    assert.equal(parsed("a tiny box").objects[0].size, "small");
    assert.equal(parsed("a medium-sized box").objects[0].size, "medium");
    assert.equal(parsed("a big box").objects[0].size, "large");
    assert.equal(parsed("a rubber ball").objects[0].material, "bouncy");
    assert.equal(parsed("an iron ball").objects[0].material, "heavy");
    assert.equal(parsed("a lightweight ball").objects[0].material, "light");
  });

  it("reads motions, bounces and directions", () => {
    assert.equal(parsed("a ball is dropped").objects[0].motion, "dropped");
    assert.equal(parsed("a ball tossed to the left").objects[0].direction, "left");
    assert.equal(parsed("a ball tossed to the left").objects[0].motion, "thrown");
    assert.equal(parsed("a box slides").objects[0].motion, "rolled");
    assert.equal(parsed("a box at rest").objects[0].motion, "resting");
    assert.equal(parsed("a motionless box").objects[0].motion, "resting");
    assert.equal(parsed("a ball rolls from right to left").objects[0].direction, "left");
    assert.equal(parsed("a ball rolls from left to right").objects[0].direction, "right");
    assert.equal(parsed("a ball rolling leftward").objects[0].direction, "left");
    // "falls" only fills in a motion: a thrown ball that falls is still thrown.
    assert.equal(parsed("a ball is thrown and falls").objects[0].motion, "thrown");
    assert.equal(parsed("a ball falls").objects[0].motion, "dropped");
  });

  it("reads where an object starts, apart from where it goes", () => {
    const one = parsed("a small red ball on the left rolls to the right").objects[0];
    assert.equal(one.place, "left");
    assert.equal(one.direction, "right");
    assert.equal(parsed("a box in the middle of the frame").objects[0].place, "middle");
    assert.equal(parsed("a box in the centre").objects[0].place, "middle");
    assert.equal(parsed("a cube at the right side sits still").objects[0].place, "right");
    // Toward or to the left is where it goes, not where it is.
    const goes = parsed("a ball is thrown toward the left side").objects[0];
    assert.equal(goes.direction, "left");
    assert.equal(goes.place, undefined);
    const two = parsed("a red ball on the right and a blue box on the left").objects;
    assert.deepEqual(
      two.map((o) => [o.color, o.place]),
      [
        ["red", "right"],
        ["blue", "left"],
      ],
    );
    // Said first in its clause, a place waits for the object after the comma, not the one before.
    const fronted = parsed("a red ball rolls right. On the left, a blue box rests").objects;
    assert.equal(fronted[0].place, undefined);
    assert.equal(fronted[1].place, "left");
    // A place said of an occluder is not modelled: reported, not pinned on the object.
    const past = parsePrompt("a red ball rolls past a pillar on the left");
    assert.equal(past.constraints.objects[0].place, undefined);
    assert.deepEqual(past.unknownWords, ["on the left"]);
  });

  it("reads every theme word", () => {
    const table: [string, string][] = [
      ["on a sunny day", "day"],
      ["in the daytime", "day"],
      ["at dusk", "sunset"],
      ["at sunset", "sunset"],
      ["in the dark", "night"],
      ["on a moonlit night", "night"],
      ["indoors", "indoor"],
      ["inside a room", "indoor"],
      ["in the ocean", "underwater"],
      ["under the sea", "underwater"],
      ["underwater", "underwater"],
    ];
    for (const [text, theme] of table) assert.equal(parsed(`a ball ${text}`).theme, theme, text);
    for (const theme of THEMES) assert.ok(wordsFor("theme", theme).length >= 3, theme);
  });

  it("reads camera words", () => {
    const table: [string, string][] = [
      ["camera pans left", "pan-left"],
      ["the camera is panning to the right", "pan-right"],
      ["a slow pan to the left", "pan-left"],
      ["the camera pans from left to right", "pan-right"],
      ["zoom in", "zoom-in"],
      ["the camera slowly zooms in", "zoom-in"],
      ["zooming", "zoom-in"],
      ["still camera", "still"],
      ["the shot is static", "still"],
    ];
    for (const [text, camera] of table)
      assert.equal(parsed(`a ball, ${text}`).camera, camera, text);
    // Without a camera noun nearby, "still" describes the object.
    assert.equal(parsed("a ball lying still").objects[0].motion, "resting");
    assert.equal(parsed("a ball lying still").camera, undefined);
  });

  it("reads occluders and which side of them the action is", () => {
    assert.deepEqual(parsed("a ball behind a column").occluders, ["pillar"]);
    const c = parsed("a ball rolls behind a box in front of a brick wall");
    assert.deepEqual(c.objects, [{ shape: "ball", motion: "rolled" }]);
    assert.deepEqual(c.occluders, ["crate", "wall"]);
    assert.deepEqual(c.occluderLayers, ["front", "back"]);
    assert.deepEqual(parsed("a pillar stands in the background").occluderLayers, ["back"]);
    assert.deepEqual(parsed("in the foreground stands a crate").occluderLayers, ["front"]);
    assert.deepEqual(parsed("a ball between two pillars").occluders, ["pillar", "pillar"]);
    assert.equal(parsed("two pillars").occluderLayers, undefined);
    // A box that is described as a moving thing stays an object.
    assert.deepEqual(parsed("a ball behind a red box").objects[1], { shape: "box", color: "red" });
    // Arena walls are not occluders.
    assert.deepEqual(parsed("a ball bouncing off the walls").occluders, []);
  });

  it("takes a total from a bare count and checks the objects against it", () => {
    const c = parsed("three objects: a red ball and a blue box");
    assert.equal(c.count, 3);
    assert.equal(c.objects.length, 2);
    assert.deepEqual(parsed("three objects"), { objects: [], occluders: [], count: 3 });
    assert.equal(parsed("three objects bouncing").objects.length, 3);
  });

  it("refers back with 'the' instead of naming a new object", () => {
    const c = parsed(
      "a red ball and a blue ball. The red ball bounces twice. The blue ball rests.",
    );
    assert.deepEqual(c.objects, [
      { shape: "ball", color: "red", bounces: true },
      { shape: "ball", color: "blue", motion: "resting" },
    ]);
    assert.equal(c.count, 2);
  });

  it("drops scenery adjectives and measures instead of taking them for objects", () => {
    const c = parsed("a red ball falls from 2.5 metres under a blue sky and bounces 3 times");
    assert.deepEqual(c.objects, [
      { shape: "ball", color: "red", motion: "dropped", bounces: true },
    ]);
  });
});

describe("parsePrompt: unknown words", () => {
  it("reports words it does not understand", () => {
    const r = parsePrompt("a red ball juggling flamingos");
    assert.deepEqual(r.unknownWords, ["juggling", "flamingos"]);
    assert.deepEqual(r.constraints.objects, [{ shape: "ball", color: "red" }]);
  });

  it("reports each unknown word once, symbols too, and shades it cannot draw", () => {
    assert.deepEqual(parsePrompt("zorp ball zorp # zorp").unknownWords, ["zorp", "#"]);
    assert.deepEqual(parsePrompt("a dark blue ball").unknownWords, ["dark"]);
    assert.deepEqual(parsePrompt("hello").unknownWords, ["hello"]);
  });

  it("builds its lexicon with each word in one role", () => {
    assert.ok(LEXICON.size > 300);
    assert.equal(LEXICON.get("cube")?.kind, "shape");
    assert.equal(LEXICON.get("flamingo"), undefined);
  });
});

describe("parsePrompt: contradictions and bad input", () => {
  const contradictions: [string, RegExp][] = [
    ["a red blue ball", /contradiction: "red" and "blue" both give the colour of one ball/],
    ["a small large box", /contradiction: "small" and "large" both give the size of one box/],
    ["a heavy bouncy ball", /"heavy" and "bouncy" both give the material/],
    ["at night during the day", /contradiction: "night" and "day" ask for two backgrounds/],
    ["bouncing resting ball", /"bouncing" and "resting": a resting ball cannot bounce/],
    ["a ball resting and bouncing", /a resting ball cannot bounce/],
    ["a box rolling left and right", /"left" and "right" both give the direction of one box/],
    ["a ball on the left in the middle", /"on the left" and "in the middle" both give the place/],
    ["a dropped thrown ball", /give one ball two motions \(dropped, thrown\)/],
    ["a motionless ball rolling left", /two motions|cannot move left/],
    ["panning left and right", /the camera cannot pan both left and right/],
    ["the camera pans left and zooms in", /two camera motions \(pan-left, zoom-in\)/],
    ["a still camera, the camera pans right", /two camera motions \(still, pan-right\)/],
    [
      "two objects: a red ball, a blue ball and a green box",
      /says "two objects" but describes 3 objects/,
    ],
    ["a pillar in the foreground and in the background", /pillar both in front of and behind/],
  ];
  for (const [text, message] of contradictions)
    it(`rejects "${text}"`, () => {
      assert.throws(
        () => parsePrompt(text),
        (e: unknown) => {
          assert.ok(e instanceof PromptError, `not a PromptError: ${e}`);
          assert.match((e as Error).message, message);
          return true;
        },
      );
    });

  const bad: [unknown, RegExp][] = [
    ["", /prompt is empty/],
    ["   \n\t ", /prompt is empty/],
    ["a ball ".repeat(150), /1050 characters long; the limit is 1000/],
    [42, /prompt must be a string/],
    ["five balls", /"five balls": a scene holds 1 to 4 moving objects/],
    ["0 cubes", /a scene holds 1 to 4/],
    ["2.5 balls", /a scene holds 1 to 4/],
    [
      "a ball, a box, a triangle, a ball and a cube",
      /describes 5 objects; a scene holds at most 4/,
    ],
    ["four pillars", /a scene holds 0 to 3 occluders/],
    ["zoom out", /can zoom in but not out/],
    ["the camera pans", /does not say which way the camera pans/],
    ["a grey ball", /"grey" describes scenery/],
    ["a red pillar", /"red" cannot describe a pillar/],
  ];
  for (const [text, message] of bad)
    it(`rejects ${JSON.stringify(text).slice(0, 40)}`, () => {
      assert.throws(
        () => parsePrompt(text as string),
        (e: unknown) => {
          assert.ok(e instanceof PromptError);
          assert.match((e as Error).message, message);
          return true;
        },
      );
    });

  it("accepts a prompt of exactly the limit", () => {
    const text = "a ball ".repeat(142).padEnd(1000, " ");
    assert.equal(text.length, 1000);
    assert.throws(() => parsePrompt(text), /at most 4/);
    assert.equal(parsePrompt(`a ball${" ".repeat(994)}`).constraints.count, 1);
  });
});

describe("parsePrompt: robustness", () => {
  it("turns any word salad into constraints the sampler accepts, or a PromptError", () => {
    const words = [...LEXICON.keys(), ",", ".", ":", "2", "3", "1.5", "flamingo", "#"];
    const rng = new Rng(2024);
    let accepted = 0;
    for (let k = 0; k < 4000; k++) {
      const text = Array.from({ length: rng.int(1, 14) }, () => rng.pick(words)).join(" ");
      let constraints: SceneConstraints;
      try {
        constraints = parsePrompt(text).constraints;
      } catch (e) {
        assert.ok(e instanceof PromptError, `"${text}" threw ${e}`);
        continue;
      }
      accepted++;
      const scene = sampleScene(k, constraints);
      assert.deepEqual(constraintViolations(scene, constraints), [], text);
    }
    // Most salads are contradiction-free: the test exercises the sampler, not just errors.
    assert.ok(accepted > 2000, `only ${accepted} accepted`);
  });
});
