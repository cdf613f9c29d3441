/**
 * The evaluator's report as one screen of text for people: what was seen, the four scores with
 * their parts, and the most telling problems.
 */
import type { EvalReport } from "./evaluate.ts";

/** Most problem lines shown; the JSON report has them all. */
const MAX_PROBLEMS = 8;
/** Widest line (characters) the summary writes. */
const MAX_WIDTH = 100;

export function formatSummary(report: EvalReport): string {
  const { video, scores } = report;
  const lines: string[] = [];
  // Colour smeared by a codec is allowed for; say so, since it makes small shapes harder to tell.
  const smear = video.chromaSmear > 0 ? `, colour smear ${video.chromaSmear.toFixed(2)}` : "";
  lines.push(
    `Zoetrope eval: ${video.width}×${video.height}, ${fmt(video.fps, 3)} fps, ${video.frames} frames (${video.seconds.toFixed(1)} s)${smear}`,
  );
  if (report.prompt) {
    const said = report.prompt.text !== null ? `"${report.prompt.text}"` : "(constraints given)";
    const unknown =
      report.prompt.unknownWords.length > 0
        ? `  [unknown words: ${report.prompt.unknownWords.join(", ")}]`
        : "";
    lines.push(`Prompt: ${said}${unknown}`);
  }
  const cam = report.camera.source === "unmeasured" ? "unmeasured" : report.camera.motion;
  lines.push(
    `Theme: ${report.theme.guess}   Camera: ${cam} (${report.camera.source === "unmeasured" ? "judged on screen" : report.camera.source}), ${report.camera.pixelsPerMetre.toFixed(1)} px/m`,
  );
  lines.push(
    `Objects (${report.objects.length}${report.ignoredBlobs > 0 ? `, ${report.ignoredBlobs} brief blobs ignored` : ""}):`,
  );
  for (const o of report.objects) {
    const motion = [
      o.startPlace ? `starts ${o.startPlace}` : "",
      o.motion ?? "motion unclear",
      o.direction ? `→ ${o.direction}` : "",
      o.bounces > 0 ? `${o.bounces} bounce${o.bounces > 1 ? "s" : ""}` : "",
    ]
      .filter((s) => s !== "")
      .join(", ");
    lines.push(
      `  #${o.track} ${`${o.color} ${o.shape ?? "?"}`.padEnd(16)} frames ${o.firstFrame}–${o.lastFrame}  ${motion}`,
    );
  }

  lines.push("Scores:");
  const a = report.adherence;
  lines.push(
    row(
      "adherence",
      scores.adherence,
      a
        ? parts([
            ["colour", a.color],
            ["shape", a.shape],
            ["count", a.count],
            ["theme", a.theme],
            ["motion", a.motion],
            ["dir", a.direction],
            ["bounce", a.bounce],
            ["place", a.place],
            ["in view", a.presence],
            ["camera", a.camera],
          ])
        : "no prompt given",
    ),
  );
  const p = report.physics;
  const g =
    p.measuredGravity !== null ? ` (${p.measuredGravity.toFixed(1)} ${p.measuredUnit})` : "";
  lines.push(
    row(
      "physics",
      scores.physics,
      `gravity ${score(p.gravity)}${g} · bounce energy ${score(p.bounceEnergy)} (${p.bounces.length}) · support ${score(p.support)} · floor ${score(p.groundMotion)} · no teleports ${score(p.noTeleport)}`,
    ),
  );
  const pm = report.permanence;
  lines.push(
    row(
      "permanence",
      scores.permanence,
      `${pm.violations} of ${pm.events.filter((e) => e.judged).length} events violated`,
    ),
  );
  const tm = report.temporal;
  lines.push(
    row(
      "time",
      scores.temporal,
      tm.score === null
        ? (tm.reason ?? "unmeasured")
        : `order ${score(tm.order)} (${Math.round(100 * (tm.orderShare ?? 0))}% of steps smooth) · held frames ${tm.heldFrames.length}`,
    ),
  );
  const c = report.continuation;
  lines.push(
    row(
      "continuation",
      scores.continuation,
      c
        ? c.horizons
            .map((h) => `+${h.seconds} s ${h.error === null ? "n/a" : `${h.error.toFixed(1)}%`}`)
            .join(" · ")
        : "no reference given",
    ),
  );

  const problems: string[] = [];
  for (const ch of a?.checks ?? []) {
    if (!ch.ok) problems.push(`${ch.what}: wanted ${ch.wanted}, got ${ch.got}`);
  }
  for (const f of p.flights) {
    if (f.score < 0.5) {
      problems.push(
        `object #${f.track} falls at ${f.accel.toFixed(1)} ${f.unit} in frames ${f.from}–${f.to}`,
      );
    }
  }
  for (const b of p.bounces) {
    if (b.score < 0.5)
      problems.push(
        `object #${b.track} gains energy bouncing at frame ${b.frame} (×${b.ratio.toFixed(2)})`,
      );
  }
  for (const e of p.ground) {
    if (!e.ok)
      problems.push(`object #${e.track} ${e.kind} in frames ${e.from}–${e.to} (${e.detail})`);
  }
  if (tm.order !== null && tm.order < 0.9) problems.push("frames are out of order");
  if (tm.noHeldFrames !== null && tm.noHeldFrames < 0.9)
    problems.push(
      `${tm.heldFrames.length} frames repeat the one before mid-motion (slowed or stuttering)`,
    );
  for (const t of p.teleports)
    problems.push(`object #${t.track} teleports at frame ${t.frame} (${t.miss.toFixed(0)} px)`);
  for (const e of pm.events) if (!e.ok && e.judged) problems.push(`${e.reason} (frame ${e.frame})`);
  const v = report.verdict;
  lines.push(
    `Verdict: ${v.pass ? "PASS" : "FAIL"}${v.failed.length > 0 ? ` (${v.failed.join(", ")})` : ""}`,
  );
  for (const u of v.unmeasured) lines.push(`  not checked: ${u.what}: ${u.reason}`);
  if (problems.length > 0) {
    lines.push(`Problems (${problems.length}):`);
    for (const pr of problems.slice(0, MAX_PROBLEMS)) {
      lines.push(`  - ${pr.length > MAX_WIDTH - 4 ? `${pr.slice(0, MAX_WIDTH - 5)}…` : pr}`);
    }
    if (problems.length > MAX_PROBLEMS)
      lines.push(`  … ${problems.length - MAX_PROBLEMS} more in the JSON report`);
  } else if (v.pass) lines.push("Problems: none found");
  else
    lines.push("Problems: no fault seen in what was measured; it fails on what is missing above");
  return lines.join("\n");
}

/** One score line; a detail too long for the width carries on, indented, on the next line. */
function row(name: string, value: number | null, detail: string): string {
  const head = `  ${name.padEnd(13)} ${score(value).padEnd(5)} `;
  const room = MAX_WIDTH - head.length;
  if (detail.length <= room) return head + detail;
  const cut = detail.lastIndexOf("  ", room);
  const at = cut > 0 ? cut : room;
  return `${head}${detail.slice(0, at)}\n${" ".repeat(head.length)}${detail.slice(at).trimStart()}`;
}

function score(v: number | null): string {
  return v === null ? "n/a" : v.toFixed(2);
}

function parts(items: [string, number | null][]): string {
  const shown = items.filter(([, v]) => v !== null).map(([k, v]) => `${k} ${score(v)}`);
  return shown.length > 0 ? shown.join("  ") : "nothing asked";
}

function fmt(v: number, digits: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}
