/** Element types a tensor can hold. f16 is stored as real halves on WebGPU and rounded to half precision on the CPU. */
export type DType = "f32" | "f16" | "i32";
export const DTYPES: readonly DType[] = ["f32", "f16", "i32"];

export function isFloat(dtype: DType): boolean {
  return dtype !== "i32";
}

export function bytesPerElement(dtype: DType): number {
  return dtype === "f16" ? 2 : 4;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Encodes a number as IEEE binary16 bits, rounding to nearest even (overflow → ±Inf, NaN kept). */
export function f16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit bit in and round to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  mant >>>= 13;
  if (rest > 0x1000 || (rest === 0x1000 && mant & 1)) {
    mant++;
    if (mant === 0x400) {
      mant = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | mant;
}

/** Decodes IEEE binary16 bits to a number. */
export function f16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let halfTable: Float32Array | undefined;

/**
 * Decodes an array of binary16 bits into `out`. Loading weights decodes millions of halves, so
 * this goes through a 65,536-entry table (256 KiB, built on first use) rather than per-value
 * arithmetic: a bundled model's weights decode in milliseconds instead of a second.
 */
export function decodeF16Array(halves: Uint16Array, out: Float32Array): Float32Array {
  if (out.length < halves.length)
    throw new Error(`decodeF16Array: ${out.length} outputs for ${halves.length} halves`);
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = f16FromBits(h);
  }
  const table = halfTable;
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}

/** Rounds a number to the nearest value representable in binary16. */
export function roundF16(value: number): number {
  return f16FromBits(f16Bits(value));
}

/** Rounds every element of an array to binary16 in place. */
export function roundArrayF16(values: Float32Array | Float64Array): void {
  for (let i = 0; i < values.length; i++) values[i] = roundF16(values[i]);
}
