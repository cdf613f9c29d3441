/**
 * File-system failures in plain words. Node's messages ("ENOSPC: no space left on device, write")
 * name system calls and, worse, our internal temporary paths; users need the reason and the path
 * they gave. Every writer and reader turns errno errors into an Error through `fsFailure`.
 */

const REASONS: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is used up",
  EFBIG: "the file would be larger than the file system allows",
  EACCES: "permission denied",
  EPERM: "the operation is not permitted",
  EROFS: "the file system is read-only",
  ENOENT: "it does not exist",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "the path has a loop of symbolic links",
  EEXIST: "something else already has that name",
  ENOTEMPTY: "the folder is not empty",
  EBUSY: "it is busy (in use by the system)",
  EIO: "the disk reported an input/output error",
  EMFILE: "too many files are open",
  ENFILE: "too many files are open on this system",
  ENXIO: "no program is reading from it",
  EPIPE: "the reader closed it",
  EINVAL: "the file system does not accept this name or operation",
  EXDEV: "it is on another file system",
  ETXTBSY: "it is a program that is running",
};

/** The errno code of a Node file-system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** Plain words for an errno error ("the disk is full"); other errors keep their message. */
export function plainReason(err: unknown): string {
  const code = errnoCode(err);
  if (code) return REASONS[code] ?? `the system refused (${code})`;
  return err instanceof Error ? err.message : String(err);
}

/** An Error "cannot <action> <path>: <plain reason>", for errno errors; other errors pass through. */
export function fsFailure(action: string, path: string, err: unknown): Error {
  if (errnoCode(err) === undefined && err instanceof Error) return err;
  return new Error(`cannot ${action} ${path}: ${plainReason(err)}`);
}
