/**
 * Reading back the text tags a file carries (what writeMp4's `metadata` stores). The npm ffmpeg
 * has no ffprobe, and its stream listing on stderr wraps long values, so the tags come from
 * ffmpeg's own metadata format (`-f ffmetadata`): `key=value` lines after a `;FFMETADATA1`
 * header, with "=", ";", "#", "\" and newlines escaped by a backslash.
 */
import { resolve } from "node:path";
import { ffmpegReason, runFfmpeg } from "./ffmpeg.ts";

/** Parses ffmetadata text: the global section's tags, keys as written. */
export function parseFfmetadata(text: string): Record<string, string> {
  const lines = text.split("\n");
  if (!lines[0]?.startsWith(";FFMETADATA")) {
    throw new Error("not ffmetadata: the first line is not ;FFMETADATA1");
  }
  const tags: Record<string, string> = {};
  // Escaped newlines end a physical line with "\": join them back into one logical line.
  let pending = "";
  for (const raw of lines.slice(1)) {
    const line = pending + raw;
    pending = "";
    let trailing = 0;
    for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) trailing++;
    if (trailing % 2 === 1) {
      pending = `${line.slice(0, -1)}\n`;
      continue;
    }
    if (line.startsWith("[")) break; // stream and chapter sections follow the global tags
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    // The first unescaped "=" splits key from value.
    let key = "";
    let value = "";
    let inValue = false;
    for (let i = 0; i < line.length; i++) {
      let ch = line[i];
      if (ch === "\\" && i + 1 < line.length) ch = line[++i];
      else if (ch === "=" && !inValue) {
        inValue = true;
        continue;
      }
      if (inValue) value += ch;
      else key += ch;
    }
    if (inValue) tags[key] = value;
  }
  return tags;
}

/** The global text tags of a media file, e.g. the prompt and seed `zoetrope generate` stores. */
export async function readMp4Metadata(path: string): Promise<Record<string, string>> {
  // Absolute, so that a name starting with "-" is never read as an option.
  const result = await runFfmpeg(["-i", resolve(path), "-f", "ffmetadata", "-"], {
    captureStdout: true,
  });
  if (result.code !== 0) {
    throw new Error(`cannot read the metadata of ${path}: ${ffmpegReason(result.stderr)}`);
  }
  return parseFfmetadata(result.stdout.toString("utf8"));
}
