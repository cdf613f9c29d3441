/**
 * Running the ffmpeg binary that ships in the npm package `@ffmpeg-installer/ffmpeg`. Every
 * encode and decode in Zoetrope goes through `runFfmpeg`, which feeds stdin with back-pressure,
 * collects stdout as bytes and stderr as text, and turns a failure into an Error that quotes
 * ffmpeg's own reason.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { trackChild } from "./cleanup.ts";

let cachedPath: string | null = null;

/**
 * Path of the ffmpeg executable: `ZOETROPE_FFMPEG` when set (for platforms the npm package does
 * not cover), otherwise the binary from `@ffmpeg-installer/ffmpeg`.
 */
export function ffmpegPath(): string {
  if (cachedPath) return cachedPath;
  const override = process.env.ZOETROPE_FFMPEG;
  if (override) return (cachedPath = override);
  try {
    const installer = createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as {
      path: string;
    };
    cachedPath = installer.path;
    return cachedPath;
  } catch (err) {
    // The installer throws a bare string on unsupported platforms, so normalise it.
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `ffmpeg is not available (${reason}); install @ffmpeg-installer/ffmpeg or set ZOETROPE_FFMPEG to an ffmpeg binary`,
    );
  }
}

export interface FfmpegResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunFfmpegOptions {
  /** Chunks written to ffmpeg's stdin in order, then stdin is closed. */
  stdin?: Iterable<Uint8Array>;
  /** Keep stdout (decoding); when false it is discarded (encoding to a file). */
  captureStdout?: boolean;
  /** Receives stdout as it arrives instead of collecting it (streaming decodes). */
  onStdout?: (chunk: Buffer) => void;
  /** Receives stderr text as it arrives (it is collected as well). */
  onStderr?: (text: string) => void;
  /** Aborting kills ffmpeg; the promise then resolves with code null. */
  signal?: AbortSignal;
}

/**
 * Runs ffmpeg with `args` (the binary's own `-hide_banner -nostdin` style flags are added here)
 * and resolves with its exit code, stdout and stderr; it rejects only when the process cannot be
 * started. Callers decide what a non-zero exit means.
 */
export function runFfmpeg(args: string[], opts: RunFfmpegOptions = {}): Promise<FfmpegResult> {
  const binary = ffmpegPath();
  const fullArgs = ["-hide_banner", ...(opts.stdin ? [] : ["-nostdin"]), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, fullArgs, {
      stdio: [
        opts.stdin ? "pipe" : "ignore",
        opts.captureStdout || opts.onStdout ? "pipe" : "ignore",
        "pipe",
      ],
      signal: opts.signal,
    });
    trackChild(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onStdout = opts.onStdout;
    child.stdout?.on("data", onStdout ?? ((b: Buffer) => out.push(b)));
    child.stderr?.on("data", (b: Buffer) => {
      err.push(b);
      opts.onStderr?.(b.toString("utf8"));
    });
    child.on("error", (e) => {
      // An abort is ours: the close event that follows reports it.
      if (e.name === "AbortError") return;
      reject(new Error(`cannot run ffmpeg at ${binary}: ${e.message}`));
    });
    child.on("close", (code) => {
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") });
    });
    if (opts.stdin && child.stdin) feed(child.stdin, opts.stdin);
  });
}

/** Writes chunks to a child's stdin respecting back-pressure; stops quietly if the child exits early. */
function feed(stdin: NodeJS.WritableStream, chunks: Iterable<Uint8Array>): void {
  const iterator = chunks[Symbol.iterator]();
  let closed = false;
  // An early ffmpeg exit shows up as EPIPE here; the exit code and stderr carry the real reason.
  stdin.on("error", () => {
    closed = true;
  });
  stdin.on("close", () => {
    closed = true;
  });
  const pump = (): void => {
    while (!closed) {
      const next = iterator.next();
      if (next.done) {
        stdin.end();
        return;
      }
      if (!stdin.write(next.value)) {
        stdin.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

/**
 * The line of ffmpeg's stderr that best explains a failure: the last line that is not progress
 * or a stream listing, with the input path prefix kept (it names the file).
 */
export function ffmpegReason(stderr: string): string {
  const lines = stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .filter((l) => !/^(frame=|video:|size=|Press \[q\]|Stream mapping|Metadata:)/.test(l));
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (/error|invalid|not found|no such|does not contain|failed|cannot|unable/i.test(line)) {
      return line;
    }
  }
  return lines.at(-1) ?? "ffmpeg gave no reason";
}
