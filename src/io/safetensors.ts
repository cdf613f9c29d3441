/**
 * Weights as safetensors (the format of Hugging Face's `safetensors`): an 8-byte little-endian
 * header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
 * bytes. The model's config travels as strings in the header's `__metadata__`. Weights larger
 * than one shard are split into `<stem>-00001-of-0000N.safetensors` files with an index
 * `<stem>.safetensors.index.json` mapping each tensor to its file, as the Hub does, so that
 * every file in the repository stays small.
 *
 * Writes are atomic (temporary files renamed into place only when all are complete); reads
 * check everything a truncated, corrupt or mismatched file could get wrong and name the file.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { decodeF16Array, f16Bits } from "../tensor/dtype.ts";

export type StoredDType = "F32" | "F16";

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface WeightFile {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
}

export class WeightFileError extends Error {
  override name = "WeightFileError";
}

/** Shards stay below 16 MiB (the repository's limit for one file). */
export const DEFAULT_SHARD_BYTES = 15 * 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
const BYTES: Record<StoredDType, number> = { F32: 4, F16: 2 };

function encodeValues(data: Float32Array, dtype: StoredDType): Uint8Array {
  if (dtype === "F32")
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f16Bits(data[i]);
  return new Uint8Array(out.buffer);
}

function decodeValues(bytes: Uint8Array, dtype: StoredDType, count: number): Float32Array {
  const copy = bytes.slice(); // aligned
  if (dtype === "F32") return new Float32Array(copy.buffer, 0, count);
  const halves = new Uint16Array(copy.buffer, 0, count);
  return decodeF16Array(halves, new Float32Array(count));
}

/** One safetensors file's bytes. */
function encodeFile(
  entries: [string, NamedArray][],
  dtype: StoredDType,
  metadata: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const bodies: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = encodeValues(t.data, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    bodies.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so that the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const b of bodies) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

function checkTensors(tensors: Record<string, NamedArray>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (!name || name === "__metadata__")
      throw new WeightFileError(`weights: invalid tensor name "${name}"`);
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || n !== t.data.length)
      throw new WeightFileError(
        `weights: tensor "${name}" has ${t.data.length} values for shape [${t.shape.join(", ")}]`,
      );
  }
}

/** One safetensors file's bytes holding every tensor of `file` (no sharding). */
export function encodeWeights(file: WeightFile, dtype: StoredDType = "F32"): Uint8Array {
  checkTensors(file.tensors);
  return encodeFile(Object.entries(file.tensors), dtype, file.metadata);
}

/**
 * Writes `tensors` to `path` (a .safetensors file), or to shards beside it with an index when
 * they exceed `shardBytes`; returns the files written. Nothing at the destination changes
 * unless every file was written completely.
 */
export async function writeWeights(
  path: string,
  file: WeightFile,
  options: { dtype?: StoredDType; shardBytes?: number } = {},
): Promise<string[]> {
  if (!path.endsWith(".safetensors"))
    throw new WeightFileError(`weights: ${path} must end in .safetensors`);
  const dtype = options.dtype ?? "F32";
  const limit = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  checkTensors(file.tensors);
  const entries = Object.entries(file.tensors);
  // Greedy shards in name order; a tensor larger than a shard gets one of its own.
  const shards: [string, NamedArray][][] = [[]];
  let size = 0;
  for (const e of entries) {
    const bytes = e[1].data.length * BYTES[dtype];
    if (size > 0 && size + bytes > limit) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(e);
    size += bytes;
  }
  const stem = path.slice(0, -".safetensors".length);
  const n = shards.length;
  const names =
    n === 1
      ? [path]
      : shards.map(
          (_, i) =>
            `${stem}-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`,
        );
  const files: [string, Uint8Array][] = shards.map((s, i) => [
    names[i],
    encodeFile(s, dtype, file.metadata),
  ]);
  if (n > 1) {
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      for (const [name] of s) weightMap[name] = basename(names[i]);
    });
    const index = { metadata: file.metadata, weight_map: weightMap };
    files.push([`${path}.index.json`, Buffer.from(`${JSON.stringify(index, null, 1)}\n`)]);
  }
  const tag = `${process.pid}.${randomBytes(4).toString("hex")}.partial`;
  const temps = files.map(([p]) => join(dirname(p), `.${basename(p)}.${tag}`));
  try {
    for (let i = 0; i < files.length; i++) await writeFile(temps[i], files[i][1], { flag: "wx" });
    for (let i = 0; i < files.length; i++) await rename(temps[i], files[i][0]);
  } catch (err) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw new WeightFileError(`weights: could not write ${path}: ${(err as Error).message}`);
  }
  return files.map(([p]) => p);
}

/** Parses one safetensors file's bytes; `what` names it in errors. */
export function decodeWeights(bytes: Uint8Array, what: string): WeightFile {
  if (bytes.length < 8)
    throw new WeightFileError(`${what}: truncated (${bytes.length} bytes, no header)`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length)
    throw new WeightFileError(
      `${what}: header of ${headerLen} bytes does not fit the file's ${bytes.length} bytes (truncated or not safetensors)`,
    );
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8"));
  } catch {
    throw new WeightFileError(`${what}: the header is not valid JSON (corrupt or not safetensors)`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header))
    throw new WeightFileError(`${what}: the header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, NamedArray> = {};
  let covered = 0;
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        if (typeof v !== "string")
          throw new WeightFileError(`${what}: metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e?.dtype !== "F32" && e?.dtype !== "F16")
      throw new WeightFileError(
        `${what}: tensor "${name}" has dtype ${String(e?.dtype)} (F32 and F16 are supported)`,
      );
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new WeightFileError(`${what}: tensor "${name}" has an invalid shape`);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isInteger(d) && d >= 0) ||
      off[0] > off[1]
    )
      throw new WeightFileError(`${what}: tensor "${name}" has invalid data offsets`);
    if (off[1] > dataLen)
      throw new WeightFileError(
        `${what}: tensor "${name}" ends at byte ${off[1]} of a ${dataLen}-byte data section (truncated)`,
      );
    const count = (shape as number[]).reduce((p, d) => p * d, 1);
    if (off[1] - off[0] !== count * BYTES[e.dtype])
      throw new WeightFileError(
        `${what}: tensor "${name}" has ${off[1] - off[0]} bytes for ${e.dtype} [${shape.join(", ")}]`,
      );
    covered += off[1] - off[0];
    tensors[name] = {
      shape: shape as number[],
      data: decodeValues(bytes.subarray(dataStart + off[0], dataStart + off[1]), e.dtype, count),
    };
  }
  if (covered !== dataLen)
    throw new WeightFileError(
      `${what}: the tensors cover ${covered} of ${dataLen} data bytes (corrupt: overlapping or trailing data)`,
    );
  return { tensors, metadata };
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new WeightFileError(`${path}: not a regular file`);
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if (err instanceof WeightFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new WeightFileError(
      code === "ENOENT" ? `${path}: no such weight file` : `${path}: cannot be read (${code})`,
    );
  }
}

/**
 * Reads a .safetensors file, or the shards of `<path>.index.json` when that index exists
 * instead of the file. Every shard must carry the same metadata.
 */
export async function readWeights(path: string): Promise<WeightFile> {
  const indexPath = `${path}.index.json`;
  const single = await stat(path).then(
    () => true,
    () => false,
  );
  if (single) return decodeWeights(await readBytes(path), path);
  let index: { metadata?: Record<string, string>; weight_map?: Record<string, string> };
  try {
    index = JSON.parse(Buffer.from(await readBytes(indexPath)).toString("utf8"));
  } catch (err) {
    if (err instanceof WeightFileError && /no such weight file/.test(err.message))
      throw new WeightFileError(
        `${path}: no such weight file (nor a shard index ${basename(indexPath)})`,
      );
    if (err instanceof WeightFileError) throw err;
    throw new WeightFileError(`${indexPath}: not valid JSON`);
  }
  const map = index.weight_map;
  if (!map || typeof map !== "object") throw new WeightFileError(`${indexPath}: no weight_map`);
  const shards = [...new Set(Object.values(map))];
  const out: WeightFile = { tensors: {}, metadata: {} };
  for (const [i, shard] of shards.entries()) {
    if (basename(shard) !== shard)
      throw new WeightFileError(`${indexPath}: shard "${shard}" is not a file name`);
    const shardPath = join(dirname(path), shard);
    const f = decodeWeights(await readBytes(shardPath), shardPath);
    if (i === 0) out.metadata = f.metadata;
    else if (JSON.stringify(f.metadata) !== JSON.stringify(out.metadata))
      throw new WeightFileError(`${shardPath}: metadata differs from the other shards'`);
    Object.assign(out.tensors, f.tensors);
  }
  for (const [name, shard] of Object.entries(map)) {
    if (!out.tensors[name])
      throw new WeightFileError(
        `${join(dirname(path), shard)}: tensor "${name}" listed in the index is missing`,
      );
  }
  return out;
}
