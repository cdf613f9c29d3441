/**
 * What ffmpeg says about a file on stderr, parsed into numbers. The npm ffmpeg package has no
 * ffprobe, so the size, frame rate, duration and metadata of a video come from the stream
 * listing ffmpeg prints before it starts work.
 */

export interface StreamInfo {
  /** Demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  container: string;
  /** Size of the first video stream as stored. */
  width: number;
  height: number;
  /** Frames per second ("fps" field, else "tbr"); NaN when ffmpeg reports neither. */
  fps: number;
  /** Container duration in seconds, NaN when "N/A". */
  duration: number;
  /** Container-level metadata tags (lower-cased keys). */
  metadata: Record<string, string>;
  /** Codec description of the video stream, e.g. "h264 (High) (avc1 / 0x31637661)". */
  codec: string;
}

export interface OutputInfo {
  /** Size of the first video stream ffmpeg writes (after any autorotation or filters). */
  width: number;
  height: number;
}

/** Splits stderr into the "Input #0" and "Output #0" listings. */
function sections(stderr: string): { input: string[]; output: string[] } {
  const input: string[] = [];
  const output: string[] = [];
  let target: string[] | null = null;
  for (const line of stderr.split(/\r?\n|\r/)) {
    if (/^Input #0,/.test(line)) target = input;
    else if (/^Input #\d+,/.test(line)) target = null;
    else if (/^Output #0,/.test(line)) target = output;
    else if (/^(Output #\d+,|Stream mapping:|Press \[q\]|frame=|\S)/.test(line)) target = null;
    target?.push(line);
  }
  return { input, output };
}

function videoStreamLine(lines: string[]): string | undefined {
  return lines.find((l) => /^\s+Stream #\d+:\d+.*?: Video: /.test(l));
}

/** Parses "24 fps", "29.97 fps", "1k fps" style fields. */
function rateField(line: string, unit: string): number {
  const m = new RegExp(`([\\d.]+)(k?) ${unit}\\b`).exec(line);
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === "k" ? 1000 : 1);
}

function sizeField(line: string): [number, number] | null {
  // ", 128x74" – the leading ", " keeps codec tags such as "0x31637661" from matching.
  const m = /, (\d+)x(\d+)(?=[\s,[]|$)/.exec(line);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** The input's stream info, or null when ffmpeg listed no video stream for input #0. */
export function parseInputInfo(stderr: string): StreamInfo | null {
  const { input } = sections(stderr);
  if (input.length === 0) return null;
  const container = /^Input #0, (.*?), from '/.exec(input[0])?.[1] ?? "";
  const metadata: Record<string, string> = {};
  let inTopMetadata = false;
  let duration = Number.NaN;
  for (const line of input.slice(1)) {
    const indent = line.length - line.trimStart().length;
    if (indent === 2 && line.trim() === "Metadata:") {
      inTopMetadata = true;
      continue;
    }
    if (inTopMetadata && indent === 4) {
      const m = /^\s+([^:]+?)\s*: (.*)$/.exec(line);
      if (m) metadata[m[1].toLowerCase()] = m[2];
      continue;
    }
    inTopMetadata = false;
    const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(line);
    if (d) duration = Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]);
  }
  const stream = videoStreamLine(input);
  if (!stream) return null;
  const size = sizeField(stream);
  if (!size) return null;
  let fps = rateField(stream, "fps");
  if (!(fps > 0)) fps = rateField(stream, "tbr");
  const codec = /: Video: (.*?)(?:, |$)/.exec(stream)?.[1] ?? "";
  return { container, width: size[0], height: size[1], fps, duration, metadata, codec };
}

/** Size of the first video stream in the "Output #0" listing, or null when there is none. */
export function parseOutputInfo(stderr: string): OutputInfo | null {
  const stream = videoStreamLine(sections(stderr).output);
  const size = stream ? sizeField(stream) : null;
  return size ? { width: size[0], height: size[1] } : null;
}
