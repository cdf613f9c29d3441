/**
 * Rigid-body physics of the world: gravity, the ground and side walls, object–object contact,
 * restitution, Coulomb friction (balls roll, boxes and triangles slide and tumble), rolling
 * resistance and sleeping. A fixed base step is split into sub-steps by the fastest object's
 * travel, contacts are solved by sequential impulses, and overlap is removed by moving positions
 * directly (never by adding velocity), so energy can only leave the system. No randomness beyond
 * the scene's seed: the same scene always gives bit-identical states.
 */
import { Rng } from "../util/rng.ts";
import { type Body, updateBodyVertices } from "./body.ts";
import { type Contact, collideArena, collideBodies, type Surface } from "./collide.ts";
import { shapeGeometry } from "./geometry.ts";
import { MATERIALS, type SceneSpec } from "./scene.ts";

/** The fixed base step (s). 600 Hz lands exactly on frames at 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 25, 30, 40, 50, 60, 75, 100 and 120 fps. */
export const BASE_DT = 1 / 600;
/** Most a body may travel (m) in one sub-step; also capped at a quarter of the thinnest object. */
const MAX_TRAVEL = 0.01;
const MAX_SUBSTEPS = 64;
const MAX_VELOCITY_ITERATIONS = 32;
/** A velocity sweep changing no impulse by more than this (N·s per metre of depth) has converged. */
const IMPULSE_TOLERANCE = 1e-12;
const RESTITUTION_ITERATIONS = 4;
const POSITION_ITERATIONS = 3;
/** Closing speeds (m/s) below this do not bounce: slow contact is inelastic, so bouncing ends. */
export const RESTITUTION_THRESHOLD = 0.4;
/** Closing speed (m/s) from which two objects touching count as a collision event. */
export const COLLISION_EVENT_SPEED = 0.1;
/** The same contact cannot report another event within this time (s): a landing box may rattle. */
const EVENT_COOLDOWN = 0.1;
/** Fraction of the overlap removed per position iteration, the overlap tolerated (m), and the most moved per iteration. */
const BAUMGARTE = 0.2;
const LINEAR_SLOP = 0.001;
const MAX_CORRECTION = 0.05;
/** Rolling resistance (torque arm as a fraction of the radius): a rolled ball slows and stops. */
const ROLLING_RESISTANCE = 0.03;
/** A body slower than these for SLEEP_TIME while touching something goes to sleep. */
const SLEEP_LINEAR = 0.02;
const SLEEP_ANGULAR = 0.05;
const SLEEP_TIME = 0.5;

export interface PhysicsEvent {
  /** Simulated time (s) at the end of the sub-step in which the contact began. */
  t: number;
  kind: "bounce" | "collision";
  objects: number[];
  /** What a bounce hit; "object" for collisions. */
  surface: Surface;
  /** Closing speed along the contact normal (m/s). */
  speed: number;
}

export interface PhysicsWorld {
  bodies: Body[];
  gravity: number;
  halfWidth: number;
  /** Simulated time (s) and number of base steps taken. */
  time: number;
  steps: number;
  events: PhysicsEvent[];
  /** Per contact key (see contactKey): touching in the previous sub-step, and when it last reported an event. */
  touching: Uint8Array;
  lastEventAt: Float64Array;
  maxTravel: number;
  /** Scratch for island roots, one per body. */
  island: Int32Array;
  /** Impulses of the previous sub-step's contacts by contact key × feature (NaN: no such contact). */
  warmN: Float64Array;
  warmT: Float64Array;
}

/** Builds the bodies of a scene at their initial state. The scene is assumed valid. */
export function createWorld(scene: SceneSpec): PhysicsWorld {
  const spinRng = new Rng(scene.seed).fork();
  let thinnest = Infinity;
  const bodies = scene.objects.map((o): Body => {
    const geom = shapeGeometry(o.shape, o.size);
    const mat = MATERIALS[o.material];
    const mass = geom.area * mat.density;
    const inertia = mass * geom.inertiaPerMass;
    const n = geom.localX.length;
    thinnest = Math.min(thinnest, geom.inradius);
    const isBall = o.shape === "ball";
    // A rolled ball starts rolling without slipping; a thrown box or triangle tumbles a little,
    // forwards, by an amount fixed by the seed.
    let w = 0;
    const spin = spinRng.uniform(0.5, 2.5);
    if (isBall && o.motion === "rolled") w = -o.vx / geom.radius;
    if (!isBall && o.motion === "thrown") w = -Math.sign(o.vx) * spin;
    const b: Body = {
      id: o.id,
      geom,
      isBall,
      mass,
      invMass: 1 / mass,
      inertia,
      invInertia: 1 / inertia,
      restitution: mat.restitution,
      friction: mat.friction,
      x: o.x,
      y: o.y,
      angle: 0,
      vx: o.vx,
      vy: o.vy,
      w,
      asleep: false,
      stillTime: 0,
      wx: new Float64Array(n),
      wy: new Float64Array(n),
      enx: new Float64Array(n),
      eny: new Float64Array(n),
    };
    updateBodyVertices(b);
    return b;
  });
  return {
    bodies,
    gravity: scene.gravity,
    halfWidth: scene.arenaWidth / 2,
    time: 0,
    steps: 0,
    events: [],
    touching: new Uint8Array(CONTACT_KEYS),
    lastEventAt: new Float64Array(CONTACT_KEYS).fill(-Infinity),
    maxTravel: Math.min(MAX_TRAVEL, thinnest / 4),
    island: new Int32Array(bodies.length),
    warmN: new Float64Array(CONTACT_KEYS * FEATURES).fill(Number.NaN),
    warmT: new Float64Array(CONTACT_KEYS * FEATURES).fill(Number.NaN),
  };
}

/** Total mechanical energy (J per metre of depth): kinetic, rotational and potential. */
export function totalEnergy(world: PhysicsWorld): number {
  let e = 0;
  for (const b of world.bodies) {
    e += 0.5 * b.mass * (b.vx * b.vx + b.vy * b.vy);
    e += 0.5 * b.inertia * b.w * b.w;
    e += b.mass * world.gravity * b.y;
  }
  return e;
}

/** Advances the world by one base step (BASE_DT), in as many sub-steps as the fastest body needs. */
export function stepWorld(world: PhysicsWorld): void {
  if (world.bodies.every((b) => b.asleep)) {
    // Nothing moves until something wakes it, and nothing can while everything sleeps.
    world.steps++;
    world.time = world.steps * BASE_DT;
    return;
  }
  let fastest = 0;
  for (const b of world.bodies) {
    if (b.asleep) continue;
    const travel = (Math.hypot(b.vx, b.vy) + Math.abs(b.w) * b.geom.radius) * BASE_DT;
    if (travel > fastest) fastest = travel;
  }
  const n = Math.min(MAX_SUBSTEPS, Math.max(1, Math.ceil(fastest / world.maxTravel)));
  const start = world.steps * BASE_DT;
  for (let i = 0; i < n; i++) substep(world, BASE_DT / n, start + ((i + 1) * BASE_DT) / n);
  world.steps++;
  world.time = world.steps * BASE_DT;
}

function findContacts(world: PhysicsWorld): Contact[] {
  const out: Contact[] = [];
  const bodies = world.bodies;
  for (const b of bodies) updateBodyVertices(b);
  for (let i = 0; i < bodies.length; i++) {
    collideArena(bodies[i], world.halfWidth, out);
    for (let j = i + 1; j < bodies.length; j++) collideBodies(bodies[i], bodies[j], out);
  }
  return out;
}

/** Number of distinct contact keys: bodies are indexed 0..7 at most. */
const KEY_STRIDE = 16;
const CONTACT_KEYS = 8 * KEY_STRIDE;
/** Contact points per contact key (see Contact.feature). */
const FEATURES = 8;

/** A number naming one body's contact with one surface or other body, for event bookkeeping. */
function contactKey(c: Contact): number {
  const other =
    c.b !== null ? 8 + c.b.id : c.surface === "ground" ? 0 : c.surface === "left-wall" ? 1 : 2;
  return c.a.id * KEY_STRIDE + other;
}

function substep(world: PhysicsWorld, h: number, tEnd: number): void {
  const contacts = findContacts(world);
  wakeTouchedIslands(world, contacts);
  const g = world.gravity;
  for (const b of world.bodies) if (!b.asleep) b.vy -= g * h;
  const active = contacts.filter((c) => !c.a.asleep || (c.b !== null && !c.b.asleep));
  for (const c of active) prepareContact(c, h);
  recordEvents(world, contacts, active, tEnd);
  warmStart(world, active);
  // First stop the approach (inelastic contact with friction), then add the bounce along the
  // normal only: restitution coupled with friction in one solve can gain energy on spinning bodies.
  // Sweeps continue until the impulses settle, so resting stacks get exact support and stay still.
  for (let it = 0; it < MAX_VELOCITY_ITERATIONS; it++) {
    let change = 0;
    for (const c of active) {
      change = Math.max(change, solveFriction(c), solveNormal(c, c.target));
    }
    if (change < IMPULSE_TOLERANCE) break;
  }
  for (let it = 0; it < RESTITUTION_ITERATIONS; it++) {
    for (const c of active) if (c.bounce > 0 && c.lambdaN > 0) solveNormal(c, c.bounce);
  }
  applyRollingResistance(active);
  world.warmN.fill(Number.NaN);
  for (const c of active) {
    const slot = contactKey(c) * FEATURES + c.feature;
    world.warmN[slot] = c.lambdaN;
    world.warmT[slot] = c.lambdaT;
  }
  for (const b of world.bodies) {
    if (b.asleep) continue;
    b.x += b.vx * h;
    b.y += b.vy * h;
    b.angle += b.w * h;
  }
  // Only overlap of contacts the velocity solve has seen is removed: an overlap that appeared in
  // this sub-step's move is left for the next one to bounce first, so removing it cannot lift a
  // body that is still falling (which would add potential energy).
  const seen = new Uint8Array(CONTACT_KEYS);
  for (const c of active) seen[contactKey(c)] = 1;
  for (let it = 0; it < POSITION_ITERATIONS && active.length > 0; it++) {
    let worst = 0;
    for (const c of findContacts(world)) {
      if (c.a.asleep && (c.b === null || c.b.asleep)) continue;
      if (seen[contactKey(c)] === 0) continue;
      worst = Math.min(worst, correctPosition(c));
    }
    if (worst > -LINEAR_SLOP) break;
  }
  updateSleep(world, contacts, h);
}

/**
 * Union of bodies joined by contacts: touching bodies sleep and wake together. Returns each
 * body's island root (bodies are indexed by id, which equals their index in the scene).
 */
function islands(world: PhysicsWorld, contacts: Contact[]): Int32Array {
  const parent = world.island;
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  for (const c of contacts) {
    if (c.b === null) continue;
    const ra = root(parent, c.a.id);
    const rb = root(parent, c.b.id);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  for (let i = 0; i < parent.length; i++) parent[i] = root(parent, i);
  return parent;
}

function root(parent: Int32Array, i: number): number {
  while (parent[i] !== i) i = parent[i];
  return i;
}

function wakeTouchedIslands(world: PhysicsWorld, contacts: Contact[]): void {
  const group = islands(world, contacts);
  const bodies = world.bodies;
  for (const b of bodies) {
    if (!b.asleep) continue;
    for (const o of bodies) {
      if (!o.asleep && group[o.id] === group[b.id]) {
        b.asleep = false;
        b.stillTime = 0;
        break;
      }
    }
  }
}

function updateSleep(world: PhysicsWorld, contacts: Contact[], h: number): void {
  const bodies = world.bodies;
  for (const b of bodies) {
    if (b.asleep) continue;
    let supported = false;
    for (const c of contacts) {
      if (c.a === b || c.b === b) {
        supported = true;
        break;
      }
    }
    const slow = Math.hypot(b.vx, b.vy) < SLEEP_LINEAR && Math.abs(b.w) < SLEEP_ANGULAR;
    b.stillTime = slow && supported ? b.stillTime + h : 0;
  }
  const group = islands(world, contacts);
  for (const b of bodies) {
    if (b.asleep) continue;
    let restless = false;
    for (const o of bodies) {
      if (group[o.id] === group[b.id] && !o.asleep && o.stillTime < SLEEP_TIME) {
        restless = true;
        break;
      }
    }
    if (restless) continue;
    b.asleep = true;
    b.vx = 0;
    b.vy = 0;
    b.w = 0;
  }
}

/** Relative velocity of b with respect to a at the contact point, along (dx, dy). */
function relativeVelocity(c: Contact, dx: number, dy: number): number {
  const a = c.a;
  let vx = -(a.vx - a.w * c.ray);
  let vy = -(a.vy + a.w * c.rax);
  const b = c.b;
  if (b !== null) {
    vx += b.vx - b.w * c.rby;
    vy += b.vy + b.w * c.rbx;
  }
  return vx * dx + vy * dy;
}

function effectiveMass(c: Contact, dx: number, dy: number): number {
  const a = c.a;
  const ra = c.rax * dy - c.ray * dx;
  let k = a.invMass + a.invInertia * ra * ra;
  if (c.b !== null) {
    const rb = c.rbx * dy - c.rby * dx;
    k += c.b.invMass + c.b.invInertia * rb * rb;
  }
  return 1 / k;
}

function prepareContact(c: Contact, h: number): void {
  c.rax = c.px - c.a.x;
  c.ray = c.py - c.a.y;
  if (c.b !== null) {
    c.rbx = c.px - c.b.x;
    c.rby = c.py - c.b.y;
    c.friction = Math.sqrt(c.a.friction * c.b.friction);
    c.restitution = Math.max(c.a.restitution, c.b.restitution);
  } else {
    c.friction = c.a.friction;
    c.restitution = c.a.restitution;
  }
  c.massN = effectiveMass(c, c.nx, c.ny);
  c.massT = effectiveMass(c, -c.ny, c.nx);
  const vn = relativeVelocity(c, c.nx, c.ny);
  // A fast approach bounces; a slow one may close a small remaining gap this sub-step but no more.
  c.target = c.sep > 0 ? -c.sep / h : 0;
  c.bounce = vn < -RESTITUTION_THRESHOLD ? -c.restitution * vn : 0;
  c.lambdaN = 0;
  c.lambdaT = 0;
}

function applyImpulse(c: Contact, px: number, py: number): void {
  const a = c.a;
  a.vx -= a.invMass * px;
  a.vy -= a.invMass * py;
  a.w -= a.invInertia * (c.rax * py - c.ray * px);
  const b = c.b;
  if (b !== null) {
    b.vx += b.invMass * px;
    b.vy += b.invMass * py;
    b.w += b.invInertia * (c.rbx * py - c.rby * px);
  }
}

/**
 * A contact that persists from the previous sub-step starts from the impulses it ended with
 * there, so steady contact (resting, rolling) converges in a few sweeps. A contact that is about
 * to bounce starts from nothing: its impulse is not the steady one.
 */
function warmStart(world: PhysicsWorld, active: Contact[]): void {
  for (const c of active) {
    if (c.bounce > 0) continue;
    const slot = contactKey(c) * FEATURES + c.feature;
    const n = world.warmN[slot];
    if (Number.isNaN(n)) continue;
    const t = world.warmT[slot];
    c.lambdaN = n;
    c.lambdaT = t;
    applyImpulse(c, n * c.nx - t * c.ny, n * c.ny + t * c.nx);
  }
}

/** One friction update; returns the size of the impulse change. */
function solveFriction(c: Contact): number {
  const tx = -c.ny;
  const ty = c.nx;
  const vt = relativeVelocity(c, tx, ty);
  const limit = c.friction * c.lambdaN;
  const old = c.lambdaT;
  const next = Math.max(-limit, Math.min(limit, old - c.massT * vt));
  c.lambdaT = next;
  const d = next - old;
  applyImpulse(c, d * tx, d * ty);
  return Math.abs(d);
}

/** One normal update towards the target normal velocity; returns the size of the impulse change. */
function solveNormal(c: Contact, target: number): number {
  const vn = relativeVelocity(c, c.nx, c.ny);
  const old = c.lambdaN;
  const next = Math.max(0, old + c.massN * (target - vn));
  c.lambdaN = next;
  const d = next - old;
  applyImpulse(c, d * c.nx, d * c.ny);
  return Math.abs(d);
}

/** A ball pressed on the ground loses spin in proportion to the load, so rolling dies away. */
function applyRollingResistance(contacts: Contact[]): void {
  for (const c of contacts) {
    const a = c.a;
    if (!a.isBall || c.surface !== "ground" || a.asleep) continue;
    const limit = ROLLING_RESISTANCE * a.geom.radius * c.lambdaN;
    const stop = -a.inertia * a.w;
    a.w += Math.max(-limit, Math.min(limit, stop)) * a.invInertia;
  }
}

/** Pushes overlapping bodies apart along the normal, turning them as the contact point dictates. */
function correctPosition(c: Contact): number {
  const C = Math.max(-MAX_CORRECTION, Math.min(0, BAUMGARTE * (c.sep + LINEAR_SLOP)));
  if (C === 0) return c.sep;
  const a = c.a;
  const b = c.b;
  c.rax = c.px - a.x;
  c.ray = c.py - a.y;
  if (b !== null) {
    c.rbx = c.px - b.x;
    c.rby = c.py - b.y;
  }
  const impulse = -C * effectiveMass(c, c.nx, c.ny);
  const px = impulse * c.nx;
  const py = impulse * c.ny;
  a.x -= a.invMass * px;
  a.y -= a.invMass * py;
  a.angle -= a.invInertia * (c.rax * py - c.ray * px);
  if (b !== null) {
    b.x += b.invMass * px;
    b.y += b.invMass * py;
    b.angle += b.invInertia * (c.rbx * py - c.rby * px);
  }
  updateBodyVertices(a);
  if (b !== null) updateBodyVertices(b);
  return c.sep;
}

function recordEvents(
  world: PhysicsWorld,
  contacts: Contact[],
  active: Contact[],
  t: number,
): void {
  // A contact key reports at most one event per sub-step, at its fastest closing speed.
  const speeds = new Map<number, Contact>();
  const fastest = new Map<number, number>();
  for (const c of active) {
    const key = contactKey(c);
    const speed = -relativeVelocity(c, c.nx, c.ny);
    const prev = fastest.get(key);
    if (prev === undefined || speed > prev) {
      fastest.set(key, speed);
      speeds.set(key, c);
    }
  }
  for (const [key, c] of speeds) {
    const speed = fastest.get(key)!;
    if (world.touching[key] === 1) continue;
    const bounce = c.b === null;
    if (speed < (bounce ? RESTITUTION_THRESHOLD : COLLISION_EVENT_SPEED)) continue;
    if (t - world.lastEventAt[key] < EVENT_COOLDOWN) continue;
    world.lastEventAt[key] = t;
    world.events.push({
      t,
      kind: bounce ? "bounce" : "collision",
      objects: c.b === null ? [c.a.id] : [c.a.id, c.b.id],
      surface: c.surface,
      speed,
    });
  }
  world.touching.fill(0);
  for (const c of contacts) world.touching[contactKey(c)] = 1;
}

/** Number of values per body in a state snapshot: x, y, angle, vx, vy, w. */
export const STATE_STRIDE = 6;

/** The bodies' state packed into one array, for sampling between base steps. */
export function snapshot(world: PhysicsWorld, out?: Float64Array): Float64Array {
  const s = out ?? new Float64Array(world.bodies.length * STATE_STRIDE);
  world.bodies.forEach((b, i) => {
    const o = i * STATE_STRIDE;
    s[o] = b.x;
    s[o + 1] = b.y;
    s[o + 2] = b.angle;
    s[o + 3] = b.vx;
    s[o + 4] = b.vy;
    s[o + 5] = b.w;
  });
  return s;
}
