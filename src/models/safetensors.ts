/**
 * The safetensors container (Hugging Face's format): an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and byte range, an optional "__metadata__" map of
 * strings, then the raw little-endian data. Only F32 is written or read here. Every way a file
 * can be wrong gets an error that names the file and the problem.
 */

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  metadata: Record<string, string>;
  tensors: Record<string, NamedArray>;
}

export class WeightFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "WeightFileError";
  }
}

/** Serialises tensors (in key order) and string metadata. */
export function encodeSafetensors(content: SafetensorsContent): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: content.metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(content.tensors)) {
    const n = t.shape.reduce((p, q) => p * q, 1);
    if (n !== t.data.length)
      throw new Error(
        `encodeSafetensors: "${name}" has shape [${t.shape}] but ${t.data.length} values`,
      );
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(content.tensors)) {
    const bytes = new DataView(out.buffer, at, 4 * t.data.length);
    for (let i = 0; i < t.data.length; i++) bytes.setFloat32(4 * i, t.data[i], true);
    at += 4 * t.data.length;
  }
  return out;
}

/** Parses a safetensors file's bytes; `file` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContent {
  if (bytes.length < 8)
    throw new WeightFileError(
      file,
      `truncated: ${bytes.length} bytes, too short for the 8-byte header length`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8)
    throw new WeightFileError(
      file,
      `truncated or not a safetensors file: the header claims ${headerLen} bytes but only ${bytes.length - 8} follow`,
    );
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8"));
  } catch (err) {
    throw new WeightFileError(file, `corrupt header (not JSON: ${(err as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header))
    throw new WeightFileError(file, "corrupt header (not a JSON object)");
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, NamedArray> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!entry || typeof entry !== "object")
        throw new WeightFileError(file, "corrupt header (__metadata__ is not an object)");
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string")
          throw new WeightFileError(file, `corrupt header (metadata "${k}" is not a string)`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = e?.shape;
    const offs = e?.data_offsets;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((d) => Number.isInteger(d) && d >= 0)
    )
      throw new WeightFileError(file, `corrupt header entry for "${name}"`);
    if (e.dtype !== "F32")
      throw new WeightFileError(
        file,
        `"${name}" has dtype ${String(e.dtype)}; only F32 is supported`,
      );
    const [begin, end] = offs as [number, number];
    const n = (shape as number[]).reduce((p, q) => p * q, 1);
    if (end - begin !== 4 * n)
      throw new WeightFileError(
        file,
        `corrupt header: "${name}" of shape [${shape}] needs ${4 * n} bytes but spans ${end - begin}`,
      );
    if (end > dataLen)
      throw new WeightFileError(
        file,
        `truncated: "${name}" ends at byte ${end} of the data but the file holds ${dataLen}`,
      );
    const data = new Float32Array(n);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, 4 * n);
    for (let i = 0; i < n; i++) data[i] = dv.getFloat32(4 * i, true);
    tensors[name] = { shape: shape as number[], data };
    ranges.push([begin, end, name]);
  }
  // The byte ranges must tile the data exactly: no gaps, overlaps or trailing bytes.
  ranges.sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== at)
      throw new WeightFileError(
        file,
        `corrupt: "${name}" starts at data byte ${begin}, expected ${at} (gap or overlap)`,
      );
    at = end;
  }
  if (at !== dataLen)
    throw new WeightFileError(
      file,
      `corrupt: ${dataLen - at} bytes of data follow the last tensor`,
    );
  return { metadata, tensors };
}
