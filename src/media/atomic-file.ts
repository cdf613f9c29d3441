/**
 * Writing files so that a reader never sees half of one: everything goes to a temporary file in
 * the same folder (so the rename cannot cross file systems) and is renamed over the target only
 * when complete. On failure the temporary file is removed and the target is left as it was.
 */
import { rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

let counter = 0;

/** A fresh hidden temporary path beside `path`, unique within this process and across processes. */
export function tempPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}

/**
 * Calls `write(tmp)` to produce the file at a temporary path, then renames it to `path`.
 * If `write` throws, the temporary file is deleted and the error is rethrown.
 */
export async function writeAtomically<T>(
  path: string,
  write: (tmp: string) => Promise<T>,
): Promise<T> {
  await assertWritableFolder(path);
  const tmp = tempPathFor(path);
  try {
    const result = await write(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes text or bytes to `path` via a temporary file and a rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeAtomically(path, (tmp) => writeFile(tmp, data));
}

/** Throws a clear error when the folder that should hold `path` does not exist or `path` is a folder. */
export async function assertWritableFolder(path: string): Promise<void> {
  const folder = dirname(path);
  const info = await stat(folder).catch(() => null);
  if (!info) throw new Error(`cannot write ${path}: folder ${folder} does not exist`);
  if (!info.isDirectory()) throw new Error(`cannot write ${path}: ${folder} is not a folder`);
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) throw new Error(`cannot write ${path}: it is a folder`);
}
