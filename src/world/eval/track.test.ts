import assert from "node:assert/strict";
import { test } from "node:test";
import { GROUND_Y, paintedTracks } from "../../testing/eval-support.ts";
import { OBJECT_COLORS } from "../scene.ts";
import { analyseMotion } from "./motion.ts";

const PPM = 16;
const G = 9.81;

/** Height of a bouncing ball's centre: dropped from h0, radius r, restitution e. */
function bouncing(t: number, h0: number, r: number, e: number): number {
  let h = h0;
  let v = 0;
  const dt = 1 / 2400;
  for (let s = 0; s < t / dt; s++) {
    v -= G * dt;
    h += v * dt;
    if (h < r && v < 0) {
      h = r + (r - h);
      v = -v * e;
    }
  }
  return h;
}

test("a dropped bouncing ball is one track, with gravity in its flights and its bounces found", () => {
  const r = 0.25;
  const { tracks } = paintedTracks((c, _i, t) => {
    const h = bouncing(t, 2.5, r, 0.8);
    c.disc(20, GROUND_Y - h * PPM, r * PPM, OBJECT_COLORS.red);
  }, 72);
  assert.equal(tracks.length, 1);
  assert.equal(tracks[0].obs.length, 72);
  assert.equal(tracks[0].links.length, 0);
  const m = analyseMotion(tracks[0], { fps: 24 });
  assert.ok(m.bounces.length >= 2, `bounces ${JSON.stringify(m.bounces)}`);
  assert.ok(m.flights.length >= 2, `flights ${m.flights.length}`);
  for (const f of m.flights) {
    const g = f.accel / PPM;
    assert.ok(Math.abs(g - G) < 1.5, `flight ${f.from}-${f.to}: g ${g.toFixed(2)}`);
  }
  assert.equal(m.kind, "dropped");
  assert.equal(m.direction, null);
});

test("a box rolled to the right is 'rolled' and goes right; a still one is 'resting'", () => {
  const { tracks } = paintedTracks((c, _i, t) => {
    c.square(10 + 3 * PPM * t - 0.5 * PPM * t * t, GROUND_Y - 4, 8, 0, OBJECT_COLORS.blue);
    c.triangle(50, GROUND_Y - 3, 9, 0, OBJECT_COLORS.yellow);
  });
  assert.equal(tracks.length, 2);
  const blue = tracks.find((t) => t.color === "blue")!;
  const yellow = tracks.find((t) => t.color === "yellow")!;
  const mb = analyseMotion(blue, { fps: 24 });
  assert.equal(mb.kind, "rolled");
  assert.equal(mb.direction, "right");
  assert.equal(mb.bounces.length, 0);
  assert.equal(mb.flights.length, 0);
  const my = analyseMotion(yellow, { fps: 24 });
  assert.equal(my.kind, "resting");
  assert.equal(my.direction, null);
});

test("a thrown ball flies left on a parabola", () => {
  const { tracks } = paintedTracks(
    (c, _i, t) =>
      c.disc(54 - 1.5 * PPM * t, 20 - 2 * PPM * t + 0.5 * G * PPM * t * t, 3, OBJECT_COLORS.green),
    20,
  );
  assert.equal(tracks.length, 1);
  const m = analyseMotion(tracks[0], { fps: 24 });
  assert.equal(m.kind, "thrown");
  assert.equal(m.direction, "left");
  assert.equal(m.flights.length, 1);
  assert.ok(Math.abs(m.flights[0].accel / PPM - G) < 1, `g ${m.flights[0].accel / PPM}`);
});

test("an object passing behind a pillar keeps its track across the gap", () => {
  const { tracks } = paintedTracks((c, _i, t) => {
    c.disc(4 + 1.6 * PPM * t, GROUND_Y - 3, 3, OBJECT_COLORS.purple);
    c.rect(28, 20, 36, GROUND_Y, [150, 150, 160]);
  });
  const purple = tracks.filter((t) => t.color === "purple");
  assert.equal(purple.length, 1, `tracks ${tracks.map((t) => `${t.color}:${t.obs.length}`)}`);
  const [link] = purple[0].links;
  assert.ok(link && link.missing > 0 && !link.jump, JSON.stringify(purple[0].links));
});

test("an object that jumps across the frame is linked as a jump, not as a new object", () => {
  const { tracks } = paintedTracks((c, i) => {
    const x = i < 20 ? 10 + i * 0.3 : 50 + (i - 20) * 0.3;
    c.disc(x, GROUND_Y - 3, 3, OBJECT_COLORS.orange);
  });
  assert.equal(tracks.length, 1);
  assert.equal(tracks[0].links.length, 1);
  assert.equal(tracks[0].links[0].jump, true);
  assert.equal(tracks[0].links[0].missing, 0);
});

test("two balls of one colour keep separate tracks", () => {
  const { tracks } = paintedTracks((c, _i, t) => {
    c.disc(10 + PPM * t, 30, 3, OBJECT_COLORS.pink);
    c.disc(54 - PPM * t, 40, 3, OBJECT_COLORS.pink);
  }, 24);
  assert.equal(tracks.length, 2);
  for (const t of tracks) {
    assert.equal(t.obs.length, 24);
    assert.equal(t.links.length, 0);
  }
});

test("a slow object alone that jumps further than a kick from nothing allows is a jump", () => {
  // 0.5 px a frame, then 10 px at once at frame 20, with nothing beside it to hit it. (The old
  // reach, 1.2 × size + the fastest speed, let such a step through as a collision's kick.)
  const { tracks } = paintedTracks((c, i) => {
    c.disc(14 + 0.5 * i + (i >= 20 ? 10 : 0), 30, 3, OBJECT_COLORS.red);
  }, 30);
  assert.equal(tracks.length, 1);
  const jumps = tracks[0].links.filter((l) => l.jump);
  assert.equal(jumps.length, 1, JSON.stringify(tracks[0].links));
  assert.equal(tracks[0].obs[jumps[0].to].frame, 20);
  // The same step with another object right beside it is a kick, not a jump.
  const kicked = paintedTracks((c, i) => {
    c.disc(14 + 0.5 * i + (i >= 20 ? 10 : 0), 30, 3, OBJECT_COLORS.red);
    if (i < 20) c.disc(14 + 0.5 * i + 7, 30, 3, OBJECT_COLORS.blue);
  }, 30).tracks.find((t) => t.color === "red")!;
  assert.equal(kicked.links.filter((l) => l.jump).length, 0, JSON.stringify(kicked.links));
});

/**
 * Two blue boxes slide left on the floor; the front one (7 px) stops at x = `stop` by frame 16
 * and the rear one (9 px, starting 20 px behind) runs into it at about frame 17 and stays
 * against it: from then on the two show as one blob. `gone` is the frame from which the front
 * one is no longer drawn.
 */
function touchingBoxes(stop = 16, gone = Number.POSITIVE_INFINITY) {
  const front = (i: number) => stop + 14 * Math.max(0, 1 - i / 16) ** 2;
  const rear = (i: number) => Math.max(front(i) + 8, stop + 34 - 1.5 * i);
  const { tracks } = paintedTracks((c, i) => {
    if (i < gone) c.square(front(i), GROUND_Y - 3.5, 7, 0, OBJECT_COLORS.blue);
    c.square(rear(i), GROUND_Y - 4.5, 9, 0, OBJECT_COLORS.blue);
  });
  const first = (x: number) => tracks.find((t) => Math.abs(t.obs[0].cx - x) < 1);
  const what = tracks.map((t) => `${t.id}: frames ${t.obs[0].frame}–${t.obs.at(-1)!.frame}`);
  return { tracks, front, rear, frontTrack: first(front(0)), rearTrack: first(rear(0)), what };
}

test("two boxes of one colour that come to touch keep both tracks, each with its share", () => {
  const { tracks, front, rear, frontTrack, rearTrack, what } = touchingBoxes();
  assert.equal(tracks.length, 2, what.join(", "));
  assert.ok(frontTrack && rearTrack, what.join(", "));
  for (const [t, x, side] of [
    [frontTrack, front, 7],
    [rearTrack, rear, 9],
  ] as const) {
    // Seen in every frame, without a gap or a jump.
    assert.equal(t.obs.length, 48, what.join(", "));
    assert.deepEqual(t.links, []);
    for (const o of t.obs) {
      if (o.frame < 20) continue;
      assert.ok(o.merged && o.partial, `frame ${o.frame}: merged ${o.merged}`);
      assert.ok(Math.abs(o.cx - x(o.frame)) < 0.5, `frame ${o.frame}: x ${o.cx} for ${x(o.frame)}`);
      assert.ok(Math.abs(o.area / (side * side) - 1) < 0.15, `frame ${o.frame}: area ${o.area}`);
    }
  }
  assert.ok(frontTrack.obs.slice(0, 14).every((o) => !o.merged));
});

test("two touching boxes of one colour cut by the frame edge are split by their box", () => {
  // The front one stops at x = 2, its left 1.5 px out of the frame: the blob has no coverage
  // patch, and is split as if it filled its box.
  const { tracks, rear, frontTrack, rearTrack, what } = touchingBoxes(2);
  assert.equal(tracks.length, 2, what.join(", "));
  assert.ok(frontTrack && rearTrack, what.join(", "));
  assert.equal(frontTrack.obs.length, 48, what.join(", "));
  assert.equal(rearTrack.obs.length, 48, what.join(", "));
  for (const o of rearTrack.obs.filter((o) => o.frame >= 20)) {
    assert.ok(o.merged && !o.touchesEdge, `frame ${o.frame}`);
    assert.ok(Math.abs(o.cx - rear(o.frame)) < 0.5, `frame ${o.frame}: x ${o.cx}`);
  }
  for (const o of frontTrack.obs.filter((o) => o.frame >= 20)) {
    // What shows of it: 5.5 of its 7 px, centred at 2.75.
    assert.ok(o.merged && o.touchesEdge && o.edgeSides === 1, `frame ${o.frame}`);
    assert.ok(Math.abs(o.cx - 2.75) < 0.5, `frame ${o.frame}: x ${o.cx}`);
  }
});

test("a box that vanishes beside another of its colour is not kept alive by the other's blob", () => {
  const { tracks, frontTrack, rearTrack } = touchingBoxes(16, 30);
  assert.equal(tracks.length, 2);
  assert.ok(frontTrack && rearTrack);
  assert.equal(frontTrack.obs.at(-1)!.frame, 29);
  assert.equal(rearTrack.obs.length, 48);
  // From then on the blob is the rear box alone, whole again.
  for (const o of rearTrack.obs.filter((o) => o.frame >= 30)) {
    assert.ok(!o.merged && Math.abs(o.area / 81 - 1) < 0.15, `frame ${o.frame}: ${o.area}`);
  }
});
