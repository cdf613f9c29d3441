/**
 * The one way Zoetrope writes an output file. Rules, in the order they apply:
 *
 * - The target is looked at first. A folder, block device or socket is refused. A character
 *   device or pipe (/dev/null, /dev/stdout, a FIFO) is written through: the bytes are produced
 *   in a private temporary folder and then copied into it, so it is never replaced by a file.
 *   A symbolic link is followed and the file it points to is replaced, not the link.
 * - Missing parent folders are created (one level at a time, never Node's recursive mkdir, which
 *   spins forever on paths such as /proc/x), and removed again if the write then fails.
 * - A regular file is produced under a hidden temporary name in the same folder (so the rename
 *   cannot cross file systems), checked (`verify`), flushed to disk (fsync, so a full disk shows
 *   up here and not later), and only then renamed over the target — unless something that is not
 *   a regular file took the name meanwhile. Any failure removes the temporary file, and the
 *   temporary file is registered with cleanup.ts so that SIGINT/SIGTERM remove it too.
 * - Errors name the path the user gave and the reason in plain words, never the temporary name.
 */

import { once } from "node:events";
import { constants, createReadStream, createWriteStream } from "node:fs";
import {
  access,
  lstat,
  mkdir,
  mkdtemp,
  open,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { trackCreatedFolder, trackTemp, untrackCreatedFolder, untrackTemp } from "./cleanup.ts";
import { errnoCode, fsFailure, plainReason } from "./fs-errors.ts";

export interface OutputTarget {
  /** The path as the user gave it, for messages. */
  path: string;
  /** "file": replaced atomically; "stream": a device, pipe or /dev/fd entry written through. */
  kind: "file" | "stream";
  /** Where the bytes go (symbolic links resolved for files). */
  real: string;
  /** Folders created for this output, outermost first; removed again if the write fails. */
  created: string[];
}

/** Paths that name an already-open stream of this process or a device: written through. */
const STREAM_PATH = /^\/(dev\/|proc\/(self|\d+)\/fd\/\d+$)/;

function describeKind(info: { isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isBlockDevice()) return "a block device (a disk), not a file";
  if (info.isSocket()) return "a socket, not a file";
  return "not a regular file";
}

/**
 * Looks at where `path` points and makes its folder; throws a clear error when it cannot be
 * written. Call it for every output before any long work, so a bad path fails at once.
 */
export async function prepareOutput(path: string): Promise<OutputTarget> {
  if (typeof path !== "string" || path.trim() === "") throw new Error("an output path is empty");
  if (path.includes("\0")) throw new Error(`cannot write ${JSON.stringify(path)}: it has a NUL`);
  const abs = resolve(path);
  const fail = (reason: string) => new Error(`cannot write ${path}: ${reason}`);

  if (STREAM_PATH.test(abs)) {
    // This process's own stdout/stderr may be a socket (as under Node's child_process).
    if (standardStream(abs)) return { path, kind: "stream", real: abs, created: [] };
    const info = await stat(abs).catch((err) => {
      throw fail(plainReason(err));
    });
    if (info.isDirectory()) throw fail("it is a folder");
    if (info.isFile() || info.isCharacterDevice() || info.isFIFO()) {
      return { path, kind: "stream", real: abs, created: [] };
    }
    throw fail(describeKind(info));
  }

  let real = abs;
  const link = await lstat(abs).catch((err) => {
    // ENOTDIR: a part of the path is a file; makeFolders names which.
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return null;
    throw fail(plainReason(err));
  });
  if (link?.isSymbolicLink()) {
    real = await realpath(abs).catch((err) => {
      throw fail(
        errnoCode(err) === "ENOENT"
          ? "it is a symbolic link to something that does not exist"
          : plainReason(err),
      );
    });
  }
  const info = link ? await stat(real) : null;
  if (info) {
    if (info.isDirectory()) throw fail("it is a folder");
    if (info.isCharacterDevice() || info.isFIFO()) {
      return { path, kind: "stream", real, created: [] };
    }
    if (!info.isFile()) throw fail(describeKind(info));
  }
  const created = await makeFolders(dirname(real), path);
  const target: OutputTarget = { path, kind: "file", real, created };
  await access(dirname(real), constants.W_OK).catch(async (err) => {
    await abandonOutput(target);
    throw fail(`${plainReason(err)} in folder ${dirname(real)}`);
  });
  if (info) {
    await access(real, constants.W_OK).catch((err) => {
      throw fail(plainReason(err));
    });
  }
  return target;
}

/**
 * Creates `folder` and any missing parents, one level at a time; returns the folders it made,
 * outermost first, each registered for removal on interruption.
 */
export async function makeFolders(folder: string, forPath: string): Promise<string[]> {
  const missing: string[] = [];
  let dir = folder;
  for (;;) {
    const info = await stat(dir).catch((err) => {
      const code = errnoCode(err);
      if (code === "ENOENT") return null;
      if (code === "ENOTDIR") return "notdir" as const;
      throw new Error(`cannot write ${forPath}: ${plainReason(err)} (at ${dir})`);
    });
    if (info === "notdir" || (info && !info.isDirectory())) {
      // Report the first component that is a file.
      let file = dir;
      while ((await stat(dirname(file)).catch(() => null))?.isDirectory() === false) {
        file = dirname(file);
      }
      throw new Error(`cannot write ${forPath}: ${file} is a file, not a folder`);
    }
    if (info) break;
    missing.push(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const created: string[] = [];
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      for (const c of created.reverse()) await rmdir(c).catch(() => {});
      created.forEach(untrackCreatedFolder);
      const code = errnoCode(err);
      const reason =
        code === "ENOENT" ? "the file system there does not allow new folders" : plainReason(err);
      if (code === "EEXIST") continue; // made by someone else meanwhile: fine
      throw new Error(`cannot create folder ${d}: ${reason}`);
    }
    created.push(d);
    trackCreatedFolder(d);
  }
  return created;
}

/** Removes the (still empty) folders made for an output that did not arrive. */
export async function abandonOutput(target: OutputTarget): Promise<void> {
  for (const d of [...target.created].reverse()) {
    await rmdir(d).catch(() => {});
    untrackCreatedFolder(d);
  }
  target.created = [];
}

let counter = 0;

/** A hidden temporary name beside `real`, unique within this process and across processes. */
function tempPathFor(real: string): string {
  counter += 1;
  return join(dirname(real), `.${basename(real)}.${process.pid}.${counter}.tmp`);
}

export interface WriteOutputOptions {
  /** Checks the finished temporary file (e.g. that an MP4 is complete); throws if it is not. */
  verify?: (tmp: string) => Promise<void>;
}

/** A finished, checked output waiting under its temporary name to be put in place. */
export interface StagedOutput {
  target: OutputTarget;
  /** Renames it over the target (or copies it into a device or pipe). */
  commit(): Promise<void>;
  /** Throws it away, with any folders made for it. */
  discard(): Promise<void>;
}

/**
 * Produces an output through `produce(tmp)` and checks it, without putting it in place yet: a
 * command with several outputs stages them all, then commits them together (commitAll), so a
 * failure in any leaves none. `target` is a path or the result of prepareOutput.
 */
export async function stageOutput(
  target: OutputTarget | string,
  produce: (tmp: string) => Promise<void>,
  opts: WriteOutputOptions = {},
): Promise<StagedOutput> {
  const t = typeof target === "string" ? await prepareOutput(target) : target;
  let tmp = "";
  let tmpDir = "";
  const cleanup = async () => {
    if (tmp) {
      await rm(tmp, { force: true }).catch(() => {});
      untrackTemp(tmp);
    }
    if (tmpDir) {
      await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
      untrackTemp(tmpDir);
    }
  };
  const fail = async (err: unknown): Promise<never> => {
    await cleanup();
    if (t.kind === "file") await abandonOutput(t);
    throw outputError(t.path, tmp, err);
  };
  try {
    if (t.kind === "file") {
      tmp = tempPathFor(t.real);
    } else {
      tmpDir = await mkdtemp(join(tmpdir(), "zoetrope-out-"));
      trackTemp(tmpDir);
      tmp = join(tmpDir, "out");
    }
    trackTemp(tmp);
    await produce(tmp);
    const made = await stat(tmp).catch(() => null);
    if (!made?.isFile()) throw new Error("nothing was written");
    await opts.verify?.(tmp);
    if (t.kind === "file") await flushToDisk(tmp);
  } catch (err) {
    return fail(err);
  }
  return {
    target: t,
    discard: async () => {
      await cleanup();
      if (t.kind === "file") await abandonOutput(t);
    },
    commit: async () => {
      try {
        if (t.kind === "file") {
          const now = await lstat(t.real).catch(() => null);
          if (now && !now.isFile() && !now.isSymbolicLink()) {
            throw new Error(`something that is not a regular file appeared at ${t.path}`);
          }
          await rename(tmp, t.real);
          untrackTemp(tmp);
          tmp = "";
          t.created.forEach(untrackCreatedFolder);
          t.created = [];
        } else {
          await copyInto(tmp, t);
        }
      } catch (err) {
        return fail(err);
      }
      await cleanup();
    },
  };
}

/**
 * Commits staged outputs together: devices and pipes first (copying into one can fail, e.g.
 * /dev/full), then the renames; whatever is not committed when one fails is discarded.
 */
export async function commitAll(staged: StagedOutput[]): Promise<void> {
  const order = [...staged].sort(
    (a, b) => Number(a.target.kind === "file") - Number(b.target.kind === "file"),
  );
  for (let i = 0; i < order.length; i++) {
    try {
      await order[i].commit();
    } catch (err) {
      for (const rest of order.slice(i + 1)) await rest.discard();
      throw err;
    }
  }
}

/** Produces an output and puts it in place at once (see stageOutput). */
export async function writeOutput(
  target: OutputTarget | string,
  produce: (tmp: string) => Promise<void>,
  opts: WriteOutputOptions = {},
): Promise<void> {
  await (await stageOutput(target, produce, opts)).commit();
}

/** Stages text or bytes for `target` (see stageOutput). */
export function stageFileSafely(
  target: OutputTarget | string,
  data: string | Uint8Array,
): Promise<StagedOutput> {
  return stageOutput(target, (tmp) => writeFile(tmp, data, { flag: "wx" }));
}

/** Writes text or bytes to `target` (see writeOutput). */
export async function writeFileSafely(
  target: OutputTarget | string,
  data: string | Uint8Array,
): Promise<void> {
  await writeOutput(target, (tmp) => writeFile(tmp, data, { flag: "wx" }));
}

/** fsync: on a nearly full or networked disk, the write's real outcome is known only here. */
async function flushToDisk(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** 1 or 2 when `abs` names this process's stdout or stderr, else null. */
function standardStream(abs: string): 1 | 2 | null {
  const m = /^\/(?:dev\/(?:std(out|err)|fd\/([12]))|proc\/self\/fd\/([12]))$/.exec(abs);
  if (!m) return null;
  return m[1] === "out" || m[2] === "1" || m[3] === "1" ? 1 : 2;
}

/** Copies the finished file into a device, pipe or already-open file. */
async function copyInto(tmp: string, t: OutputTarget): Promise<void> {
  const fd = standardStream(t.real);
  if (fd) {
    // Through Node's own stream: it works whatever fd 1 or 2 is (file, pipe, socket, terminal).
    const out = fd === 1 ? process.stdout : process.stderr;
    for await (const chunk of createReadStream(tmp)) {
      if (!out.write(chunk as Buffer)) await once(out, "drain");
    }
    return;
  }
  const info = await stat(t.real);
  if (info.isFIFO()) return copyIntoPipe(tmp, t.real);
  // A regular file behind /dev/stdout is appended to, as the shell's own redirection would.
  const flags = info.isFile() ? "a" : "w";
  await pipeline(createReadStream(tmp), createWriteStream(t.real, { flags }));
}

/**
 * A pipe is opened without blocking: a blocking open of a pipe nobody reads would wait forever,
 * and closing a probe and reopening would hand the reader an early end of file. Writes that find
 * the pipe full (EAGAIN) wait and try again.
 */
async function copyIntoPipe(tmp: string, pipePath: string): Promise<void> {
  const out = await open(pipePath, constants.O_WRONLY | constants.O_NONBLOCK).catch((err) => {
    throw errnoCode(err) === "ENXIO" ? new Error("no program is reading from the pipe") : err;
  });
  try {
    for await (const chunk of createReadStream(tmp, { highWaterMark: 64 * 1024 })) {
      const bytes = chunk as Buffer;
      let at = 0;
      while (at < bytes.length) {
        try {
          at += (await out.write(bytes, at, bytes.length - at)).bytesWritten;
        } catch (err) {
          if (errnoCode(err) !== "EAGAIN") throw err;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    }
  } finally {
    await out.close();
  }
}

/** The failure in plain words, naming the user's path and never the temporary one. */
function outputError(path: string, tmp: string, err: unknown): Error {
  const base = fsFailure("write", path, err);
  let message = base.message;
  if (tmp) message = message.split(tmp).join(path).split(basename(tmp)).join(basename(path));
  message = message.replace(/No space left on device/gi, "the disk is full");
  if (!message.includes(path)) message = `cannot write ${path}: ${message}`;
  return new Error(message);
}

export interface NamedPath {
  /** The option or argument that gave it, e.g. "--truth" or "the video". */
  flag: string;
  path: string;
}

/** Identity of a path: its inode when it exists, else its resolved location. */
async function identity(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (info) return `inode ${info.dev}:${info.ino}`;
  const folder = await realpath(dirname(resolve(path))).catch(() => dirname(resolve(path)));
  return `path ${join(folder, basename(path))}`;
}

/**
 * Throws when two outputs name the same file, or an output names an input: the command would
 * overwrite its own input or one result with another.
 */
export async function assertSeparate(
  outputs: NamedPath[],
  inputs: NamedPath[] = [],
): Promise<void> {
  const seen = new Map<string, NamedPath>();
  for (const input of inputs) {
    const id = await identity(input.path);
    if (!seen.has(id)) seen.set(id, input);
  }
  const inputIds = new Set(seen.keys());
  for (const out of outputs) {
    const id = await identity(out.path);
    const other = seen.get(id);
    if (other) {
      throw new Error(
        inputIds.has(id)
          ? `${out.flag} ${out.path} would overwrite ${other.flag} ${other.path}: give the output another name`
          : `${out.flag} and ${other.flag} both name ${out.path}: give each output its own name`,
      );
    }
    seen.set(id, out);
  }
}
