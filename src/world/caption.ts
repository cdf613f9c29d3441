/**
 * The caption grammar: a scene's state (and, when known, what happened in it) to a detailed
 * description, the way Sora re-captions its training videos. The seed picks among synonyms,
 * sentence frames and clause orders, so one scene gets many different captions that all say the
 * same things: every object's size, colour, shape, material, place, motion and direction, the
 * background, the camera, the occluders and the events. Every word comes from vocabulary.ts, so
 * the prompt parser reads each caption back into constraints the scene satisfies.
 */
import { Rng } from "../util/rng.ts";
import { objectPlace, type Place } from "./place.ts";
import {
  CAMERAS,
  type CameraMotion,
  COLOR_NAMES,
  type ColorName,
  EVENT_KINDS,
  MATERIAL_NAMES,
  type MaterialName,
  MOTIONS,
  type ObjectSpec,
  OCCLUDER_KINDS,
  type OccluderKind,
  type OccluderSpec,
  type SceneSpec,
  SHAPES,
  type ShapeKind,
  SIZE_NAMES,
  type SizeName,
  THEMES,
  type ThemeName,
} from "./scene.ts";
import { indefiniteArticle, NUMBER_NAMES } from "./vocabulary.ts";

/** What happened in the clip, as far as the caption cares (a WorldEvent fits). */
export interface CaptionEvent {
  kind: string;
  objects: number[];
}

const SHAPE_NOUNS: Record<ShapeKind, string[]> = {
  ball: ["ball", "ball", "sphere"],
  box: ["box", "cube", "block"],
  triangle: ["triangle", "triangle", "wedge"],
};

const SIZE_ADJECTIVES: Record<SizeName, string[]> = {
  small: ["small", "small", "little", "tiny"],
  medium: ["medium-sized", "mid-sized", "medium"],
  large: ["large", "large", "big"],
};

const MATERIAL_ADJECTIVES: Record<MaterialName, string[]> = {
  bouncy: ["bouncy", "bouncy", "rubbery", "springy"],
  heavy: ["heavy", "heavy", "weighty", "dense"],
  light: ["lightweight", "lightweight", "hollow"],
};

const MATERIAL_NOUNS: Record<MaterialName, string[]> = {
  bouncy: ["rubber"],
  heavy: ["iron", "metal", "steel"],
  light: ["foam", "cork"],
};

const COLOR_SYNONYMS: Partial<Record<ColorName, string[]>> = {
  red: ["crimson", "scarlet"],
  yellow: ["golden"],
  green: ["emerald"],
  purple: ["violet"],
};

const THEME_PHRASES: Record<ThemeName, string[]> = {
  day: [
    "on a sunny day",
    "in broad daylight",
    "under a clear daytime sky",
    "during the day",
    "on a bright sunny afternoon",
  ],
  sunset: ["at sunset", "at dusk", "in the glow of sunset", "at sundown", "under a sunset sky"],
  night: [
    "at night",
    "on a moonlit night",
    "late at night",
    "under a starry night sky",
    "in the dark of night",
  ],
  indoor: ["indoors", "inside a quiet room", "in an empty room", "in a room indoors"],
  underwater: [
    "underwater",
    "deep under the sea",
    "on the ocean floor",
    "beneath the waves of the ocean",
  ],
};

const CAMERA_CLAUSES: Record<CameraMotion, string[]> = {
  still: [
    "the camera stays still",
    "the camera holds steady",
    "the shot stays static",
    "the view stays fixed",
  ],
  "pan-left": [
    "the camera pans slowly to the left",
    "the camera pans left",
    "the view pans leftward",
    "the camera slowly pans toward the left",
  ],
  "pan-right": [
    "the camera pans slowly to the right",
    "the camera pans right",
    "the view pans rightward",
    "the camera slowly pans toward the right",
  ],
  "zoom-in": [
    "the camera slowly zooms in",
    "the camera gradually zooms in on the scene",
    "the view zooms in",
    "the shot slowly zooms in",
  ],
};

const OCCLUDER_NOUNS: Record<OccluderKind, string[]> = {
  pillar: ["tall grey pillar", "grey stone pillar", "stone column", "tall column", "pillar"],
  wall: ["low brick wall", "brick wall", "grey concrete wall", "wall"],
  crate: ["wooden crate", "large wooden crate", "crate"],
};

/** Where an object starts (place.ts); said of every object, right after its noun. */
const PLACE_PHRASES: Record<Place, string[]> = {
  // Short: long multi-object captions already reach the text encoder's 128 tokens.
  left: ["on the left", "on the left", "on the left side"],
  middle: ["in the middle", "in the middle", "in the centre"],
  right: ["on the right", "on the right", "on the right side"],
};

/** The bare noun a definite reference to an occluder uses ("behind the pillar"). */
const OCCLUDER_REFERENCE: Record<OccluderKind, string> = {
  pillar: "pillar",
  wall: "wall",
  crate: "crate",
};

/** One detailed caption of `scene`; `events` (from the simulation) add what happened. */
export function captionScene(scene: SceneSpec, seed: number, events?: CaptionEvent[]): string {
  validateScene(scene);
  if (typeof seed !== "number" || !Number.isFinite(seed))
    throw new Error(`captionScene: seed must be a finite number, got ${String(seed)}`);
  const facts = eventFacts(scene, events ?? []);
  return new CaptionWriter(scene, new Rng(seed), facts).write();
}

/** `n` distinct captions of one scene (different phrasings), deterministic in `seed`. */
export function captionVariants(
  scene: SceneSpec,
  n: number,
  seed: number,
  events?: CaptionEvent[],
): string[] {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`captionVariants: n must be a positive integer, got ${n}`);
  validateScene(scene);
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: string[] = [];
  for (let attempt = 0; attempt < n * 50 && out.length < n; attempt++) {
    const caption = captionScene(scene, rng.nextU32(), events);
    if (seen.has(caption)) continue;
    seen.add(caption);
    out.push(caption);
  }
  if (out.length < n)
    throw new Error(
      `captionVariants: could only write ${out.length} distinct captions, asked for ${n}`,
    );
  return out;
}

// -----------------------------------------------------------------------------------------------
// Events

interface EventFacts {
  bounces: number[];
  hidden: boolean[];
  reappears: boolean[];
  enters: boolean[];
  leaves: boolean[];
  /** Unordered pairs of objects that collided, with how often. */
  collisions: { a: number; b: number; times: number }[];
}

function eventFacts(scene: SceneSpec, events: CaptionEvent[]): EventFacts {
  if (!Array.isArray(events)) throw new Error("captionScene: events must be an array");
  const n = scene.objects.length;
  const facts: EventFacts = {
    bounces: new Array(n).fill(0),
    hidden: new Array(n).fill(false),
    reappears: new Array(n).fill(false),
    enters: new Array(n).fill(false),
    leaves: new Array(n).fill(false),
    collisions: [],
  };
  events.forEach((e, k) => {
    if (!e || !(EVENT_KINDS as readonly string[]).includes(e.kind))
      throw new Error(
        `captionScene: event ${k} has unknown kind ${JSON.stringify(e?.kind)}; expected one of ${EVENT_KINDS.join(", ")}`,
      );
    if (!Array.isArray(e.objects) || e.objects.length === 0)
      throw new Error(`captionScene: event ${k} (${e.kind}) names no objects`);
    for (const id of e.objects)
      if (!Number.isInteger(id) || id < 0 || id >= n)
        throw new Error(
          `captionScene: event ${k} (${e.kind}) names object ${id}, but the scene has ${n}`,
        );
    const id = e.objects[0];
    switch (e.kind) {
      case "bounce":
        facts.bounces[id]++;
        break;
      case "hidden":
        facts.hidden[id] = true;
        break;
      case "reappear":
        facts.reappears[id] = true;
        break;
      case "enter":
        facts.enters[id] = true;
        break;
      case "leave":
        facts.leaves[id] = true;
        break;
      case "collision": {
        if (e.objects.length !== 2 || e.objects[0] === e.objects[1])
          throw new Error(`captionScene: collision event ${k} must name two different objects`);
        const a = Math.min(e.objects[0], e.objects[1]);
        const b = Math.max(e.objects[0], e.objects[1]);
        const pair = facts.collisions.find((p) => p.a === a && p.b === b);
        if (pair) pair.times++;
        else facts.collisions.push({ a, b, times: 1 });
        break;
      }
    }
  });
  return facts;
}

// -----------------------------------------------------------------------------------------------
// The grammar

class CaptionWriter {
  /** Occluders already named inside an object's clause; they get no sentence of their own. */
  private readonly introduced = new Set<number>();

  constructor(
    private readonly scene: SceneSpec,
    private readonly rng: Rng,
    private readonly facts: EventFacts,
  ) {}

  write(): string {
    const { scene, rng } = this;
    const order = rng.shuffle(scene.objects.map((o) => o.id));
    const sentences: string[] = [];

    // A stated total must come before any object is named, or the parser counts it as objects.
    const n = scene.objects.length;
    if (n >= 2 && rng.chance(0.3))
      sentences.push(
        rng.pick([
          `${NUMBER_NAMES[n]} objects share the scene`,
          `there are ${NUMBER_NAMES[n]} objects in the scene`,
          `the scene holds ${NUMBER_NAMES[n]} objects`,
        ]),
      );

    const theme = rng.pick(THEME_PHRASES[scene.theme]);
    const themeMode = rng.pick(["prefix", "suffix", "first", "last"] as const);
    const camera = rng.pick(CAMERA_CLAUSES[scene.camera]);
    const cameraMode = rng.pick(["first", "last", "join", "lead"] as const);

    const objectSentences: string[] = [];
    let k = 0;
    while (k < order.length) {
      const first = this.objectClause(order[k]);
      // Sometimes two objects share one sentence.
      if (k + 1 < order.length && rng.chance(0.35)) {
        const second = this.objectClause(order[k + 1]);
        const join = rng.pick(["while", "and", "as"]);
        objectSentences.push(`${first.np} ${first.vp}, ${join} ${second.np} ${second.vp}`);
        k += 2;
      } else {
        objectSentences.push(this.frame(first));
        k += 1;
      }
    }
    if (themeMode === "prefix") objectSentences[0] = `${theme}, ${objectSentences[0]}`;
    if (themeMode === "suffix") objectSentences[0] = `${objectSentences[0]} ${theme}`;
    if (cameraMode === "join") {
      const at = rng.int(0, objectSentences.length - 1);
      objectSentences[at] =
        `${objectSentences[at]}${rng.pick([", while ", " as ", ", and "])}${camera}`;
    }
    if (cameraMode === "lead") {
      const at = themeMode === "prefix" ? objectSentences.length - 1 : 0;
      if (themeMode === "prefix" && at === 0) objectSentences.push(capitalise(camera));
      else objectSentences[at] = `as ${camera}, ${objectSentences[at]}`;
    }

    const themeSentence = rng.pick([
      `the scene takes place ${theme}`,
      `everything happens ${theme}`,
      `this all happens ${theme}`,
    ]);
    if (themeMode === "first") sentences.push(themeSentence);
    if (cameraMode === "first") sentences.push(camera);
    const occluderSentences = scene.occluders.flatMap((o, i) => {
      if (this.introduced.has(i)) return [];
      const repeat = scene.occluders.slice(0, i).some((p) => p.kind === o.kind);
      return [this.occluderSentence(o, repeat)];
    });
    const occludersFirst = rng.chance(0.3);
    if (occludersFirst) sentences.push(...occluderSentences);
    sentences.push(...objectSentences);
    if (!occludersFirst) sentences.push(...occluderSentences);
    sentences.push(...this.collisionSentences());
    if (cameraMode === "last") sentences.push(camera);
    if (themeMode === "last") sentences.push(themeSentence);
    return sentences.map((s) => `${capitalise(s)}.`).join(" ");
  }

  /** One object's clause in one of several sentence frames. */
  private frame({ np, vp }: { np: string; vp: string }): string {
    return this.rng.pick([
      `${np} ${vp}`,
      `${np} ${vp}`,
      `${np} ${vp}`,
      `there is ${np} that ${vp}`,
      `we see ${np} that ${vp}`,
    ]);
  }

  /**
   * "a small bouncy red ball on the left" + "is dropped from about 2.4 metres and bounces twice".
   */
  private objectClause(id: number): { np: string; vp: string } {
    const o = this.scene.objects[id];
    const np = this.nounPhrase(o);
    const place = this.rng.pick(PLACE_PHRASES[objectPlace(o, this.scene.arenaWidth)]);
    return { np: `${indefiniteArticle(np)} ${np} ${place}`, vp: this.verbPhrase(o) };
  }

  private nounPhrase(o: ObjectSpec): string {
    const { rng } = this;
    const size = rng.pick(SIZE_ADJECTIVES[o.size]);
    const color = this.colorWord(o.color);
    const noun = rng.pick(SHAPE_NOUNS[o.shape]);
    const form = rng.int(0, 5);
    if (form <= 2) return `${size} ${rng.pick(MATERIAL_ADJECTIVES[o.material])} ${color} ${noun}`;
    if (form <= 4) return `${size} ${color} ${rng.pick(MATERIAL_NOUNS[o.material])} ${noun}`;
    return `${size} ${color} ${noun} made of ${rng.pick(MATERIAL_NOUNS[o.material])}`;
  }

  private colorWord(color: ColorName): string {
    const synonyms = COLOR_SYNONYMS[color];
    return synonyms && this.rng.chance(0.2) ? this.rng.pick(synonyms) : color;
  }

  private verbPhrase(o: ObjectSpec): string {
    const { rng } = this;
    const dir = o.vx < 0 ? "left" : "right";
    const parts: string[] = [];
    switch (o.motion) {
      case "dropped": {
        const h = o.y.toFixed(1);
        parts.push(
          rng.pick([
            `is dropped from about ${h} metres`,
            `is released from a height of about ${h} metres`,
            `falls from about ${h} metres above the ground`,
            `is dropped from high up`,
          ]),
        );
        if (Math.abs(o.vx) > 0.05)
          parts.push(`drifts ${rng.pick(["to the", "toward the"])} ${dir}`);
        break;
      }
      case "thrown":
        parts.push(
          rng.pick([
            `is thrown to the ${dir}`,
            `is tossed up and to the ${dir}`,
            `is launched ${dir}ward in a high arc`,
            `flies through the air toward the ${dir}`,
            `sails in an arc toward the ${dir} side`,
          ]),
        );
        break;
      case "rolled": {
        const speed = Math.abs(o.vx) > 2.2 ? "quickly " : Math.abs(o.vx) < 1.4 ? "slowly " : "";
        const verb = o.shape === "ball" ? "rolls" : rng.pick(["slides", "glides"]);
        parts.push(
          rng.pick([
            `${verb} ${speed}to the ${dir}`,
            `${verb} ${speed}${dir}ward along the ground`,
            `${verb} ${speed}across the floor toward the ${dir}`,
            `is ${o.shape === "ball" ? "rolled" : "pushed"} ${speed}along the ground to the ${dir}`,
          ]),
        );
        // A hidden event says it better ("disappears behind ..."), so only one of the two.
        const passes = this.facts.hidden[o.id] ? null : this.occluderInPath(o);
        if (passes) parts.push(`passing behind ${passes}`);
        break;
      }
      case "resting":
        parts.push(
          rng.pick([
            "rests on the ground",
            "sits at rest on the floor",
            "lies motionless on the ground",
            "sits on the ground",
          ]),
        );
        break;
    }
    const bounce = this.bounceClause(o);
    if (bounce) parts.push(bounce);
    parts.push(...this.visibilityClauses(o));
    if (parts.length === 1) return parts[0];
    return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
  }

  private bounceClause(o: ObjectSpec): string | null {
    if (o.motion === "resting") return null;
    const count = this.facts.bounces[o.id];
    const where = o.motion === "rolled" ? " off the side" : "";
    if (count > 0) {
      const times =
        count === 1
          ? "once"
          : count === 2
            ? "twice"
            : count < NUMBER_NAMES.length && this.rng.chance(0.5)
              ? `${NUMBER_NAMES[count]} times`
              : `${count} times`;
      return `bounces${where} ${times}`;
    }
    if (o.motion !== "rolled" && o.material === "bouncy" && this.noEvents())
      return this.rng.pick(["bounces", "bounces off the ground", "keeps bouncing"]);
    return null;
  }

  private noEvents(): boolean {
    const f = this.facts;
    return (
      f.bounces.every((b) => b === 0) &&
      f.collisions.length === 0 &&
      !f.hidden.some(Boolean) &&
      !f.enters.some(Boolean) &&
      !f.leaves.some(Boolean)
    );
  }

  private visibilityClauses(o: ObjectSpec): string[] {
    const out: string[] = [];
    const f = this.facts;
    if (f.enters[o.id]) out.push(this.rng.pick(["enters the frame", "comes into view"]));
    if (f.hidden[o.id]) {
      const behind = this.uniqueFrontOccluder();
      const hide =
        behind !== null
          ? `disappears behind ${this.occluderMention(behind)}`
          : "is briefly hidden from view";
      out.push(f.reappears[o.id] ? `${hide} and then reappears` : hide);
    } else if (f.reappears[o.id]) out.push("comes back into view");
    if (f.leaves[o.id]) out.push(this.rng.pick(["leaves the frame", "moves out of view"]));
    return out;
  }

  /** Index of the only front occluder, when "behind the <kind>" can mean nothing else. */
  private uniqueFrontOccluder(): number | null {
    const occ = this.scene.occluders;
    const front = occ.flatMap((o, i) => (o.layer === "front" ? [i] : []));
    if (front.length !== 1) return null;
    const kind = occ[front[0]].kind;
    return occ.filter((o) => o.kind === kind).length === 1 ? front[0] : null;
  }

  /** The only front occluder when it stands ahead of a rolling object (and the seed says so). */
  private occluderInPath(o: ObjectSpec): string | null {
    const at = this.uniqueFrontOccluder();
    if (at === null) return null;
    const ahead = Math.sign(this.scene.occluders[at].x - o.x) === Math.sign(o.vx);
    return ahead && this.rng.chance(0.5) ? this.occluderMention(at) : null;
  }

  /** "a tall grey pillar" the first time an object clause names it, "the pillar" after. */
  private occluderMention(index: number): string {
    const o = this.scene.occluders[index];
    if (this.introduced.has(index)) return `the ${OCCLUDER_REFERENCE[o.kind]}`;
    this.introduced.add(index);
    const noun = this.rng.pick(OCCLUDER_NOUNS[o.kind]);
    return `${indefiniteArticle(noun)} ${noun}`;
  }

  /** One occluder and its layer; `repeat` when one of its kind was named already ("another"). */
  private occluderSentence(o: OccluderSpec, repeat: boolean): string {
    const { rng } = this;
    const noun = rng.pick(OCCLUDER_NOUNS[o.kind]);
    const np = repeat
      ? `${rng.pick(["another", "a second"])} ${noun}`
      : `${indefiniteArticle(noun)} ${noun}`;
    if (o.layer === "front")
      return rng.pick([
        `${np} stands in the foreground`,
        `in the foreground stands ${np}`,
        `the action passes behind ${np}`,
      ]);
    return rng.pick([
      `${np} stands in the background`,
      `in the background stands ${np}`,
      `everything happens in front of ${np}`,
    ]);
  }

  private collisionSentences(): string[] {
    return this.facts.collisions.map(({ a, b, times }) => {
      const ra = this.reference(a);
      const rb = this.reference(b);
      const often = times === 1 ? "" : times === 2 ? " twice" : ` ${times} times`;
      return this.rng.pick([
        `the ${ra} collides with the ${rb}${often}`,
        `the ${ra} and the ${rb} collide${often}`,
        `then the ${ra} bumps into the ${rb}${often}`,
        `the ${ra} hits the ${rb}${often}`,
      ]);
    });
  }

  /** The shortest "the ..." phrase that singles out object `id` among the scene's objects. */
  private reference(id: number): string {
    const objects = this.scene.objects;
    const o = objects[id];
    const noun = SHAPE_NOUNS[o.shape][0];
    const others = objects.filter((p) => p.id !== id && p.shape === o.shape);
    const same = (keys: (keyof ObjectSpec)[]) =>
      others.filter((p) => keys.every((key) => p[key] === o[key])).length;
    const words: string[] = [o.color];
    if (same(["color"]) > 0) words.unshift(SIZE_ADJECTIVES[o.size][0]);
    if (same(["color", "size"]) > 0) words.splice(1, 0, MATERIAL_ADJECTIVES[o.material][0]);
    if (same(["color", "size", "material"]) > 0) words.unshift(motionParticiple(o));
    return `${words.join(" ")} ${noun}`;
  }
}

function motionParticiple(o: ObjectSpec): string {
  if (o.motion === "rolled") return o.shape === "ball" ? "rolling" : "sliding";
  return o.motion;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function validateScene(scene: SceneSpec): void {
  if (typeof scene !== "object" || scene === null)
    throw new Error("captionScene: scene must be an object");
  const bad = (what: string, v: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(v as string))
      throw new Error(
        `captionScene: unknown ${what} ${JSON.stringify(v)}; expected one of ${allowed.join(", ")}`,
      );
  };
  bad("theme", scene.theme, THEMES);
  bad("camera", scene.camera, CAMERAS);
  if (!Array.isArray(scene.objects) || scene.objects.length === 0)
    throw new Error("captionScene: the scene has no objects to describe");
  scene.objects.forEach((o, i) => {
    if (o.id !== i)
      throw new Error(`captionScene: object ${i} has id ${o.id}; ids must be 0..n-1 in order`);
    bad(`shape of object ${i}`, o.shape, SHAPES);
    bad(`colour of object ${i}`, o.color, COLOR_NAMES);
    bad(`size of object ${i}`, o.size, SIZE_NAMES);
    bad(`material of object ${i}`, o.material, MATERIAL_NAMES);
    bad(`motion of object ${i}`, o.motion, MOTIONS);
    for (const key of ["x", "y", "vx", "vy"] as const)
      if (!Number.isFinite(o[key]))
        throw new Error(`captionScene: object ${i} has ${key} = ${o[key]}`);
  });
  if (!Array.isArray(scene.occluders)) throw new Error("captionScene: occluders must be an array");
  scene.occluders.forEach((o, i) => {
    bad(`occluder ${i} kind`, o.kind, OCCLUDER_KINDS);
    bad(`occluder ${i} layer`, o.layer, ["front", "back"]);
  });
}
