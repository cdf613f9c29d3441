/**
 * Uploaded inputs (images and videos for the modes that take them). Each is stored under a name
 * the server makes (a UUID and an extension from its sniffed type), never a name the client
 * sends, so nothing a client says can place a file outside the uploads folder. A file appears
 * only once complete (written under a temporary name, flushed, renamed).
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/** Types accepted, recognised by their first bytes (the client's Content-Type must agree). */
const TYPES: { contentType: string; extension: string; matches: (b: Uint8Array) => boolean }[] = [
  {
    contentType: "image/png",
    extension: "png",
    matches: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47,
  },
  {
    contentType: "image/jpeg",
    extension: "jpg",
    matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  {
    contentType: "video/mp4",
    extension: "mp4",
    matches: (b) => Buffer.from(b.subarray(4, 8)).toString("latin1") === "ftyp",
  },
  {
    contentType: "video/webm",
    extension: "webm",
    matches: (b) => b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3,
  },
];

export const UPLOAD_TYPES = TYPES.map((t) => t.contentType);
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` has the shape of an id the server makes (a lower-case UUID, nothing path-like). */
export function isUploadId(id: string): boolean {
  return ID.test(id);
}

/** The content type of a stored upload, from the extension the server gave its file. */
export function uploadContentType(path: string): string | undefined {
  return TYPES.find((t) => path.endsWith(`.${t.extension}`))?.contentType;
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 415,
  ) {
    super(message);
  }
}

export interface UploadInfo {
  id: string;
  contentType: string;
  bytes: number;
}

export class Uploads {
  constructor(private readonly dir: string) {}

  async save(bytes: Uint8Array, declaredType: string): Promise<UploadInfo> {
    const type = declaredType.split(";")[0].trim().toLowerCase();
    const known = TYPES.find((t) => t.contentType === type);
    if (!known) {
      throw new UploadError(
        `uploads must be one of ${UPLOAD_TYPES.join(", ")} (Content-Type was ${JSON.stringify(declaredType)})`,
        415,
      );
    }
    if (bytes.length === 0) throw new UploadError("the upload is empty", 400);
    if (!known.matches(bytes)) {
      throw new UploadError(`the upload's bytes are not ${known.contentType}`, 415);
    }
    await mkdir(this.dir, { recursive: true });
    const id = randomUUID();
    const final = join(this.dir, `${id}.${known.extension}`);
    const tmp = join(this.dir, `.${id}.tmp`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await rename(tmp, final);
    return { id, contentType: known.contentType, bytes: bytes.length };
  }

  /** The stored file of upload `id`; throws UploadError (404) for an unknown or malformed id. */
  async path(id: string): Promise<string> {
    if (!ID.test(id)) throw new UploadError(`no upload ${JSON.stringify(id)}`, 404);
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const name = names.find((n) => n.startsWith(`${id}.`) && !n.endsWith(".tmp"));
    if (!name) throw new UploadError(`no upload ${JSON.stringify(id)}`, 404);
    return join(this.dir, name);
  }

  async info(id: string): Promise<UploadInfo> {
    const path = await this.path(id);
    const ext = path.slice(path.lastIndexOf(".") + 1);
    const type = TYPES.find((t) => t.extension === ext)!;
    return { id, contentType: type.contentType, bytes: (await stat(path)).size };
  }
}
