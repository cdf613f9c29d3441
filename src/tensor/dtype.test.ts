import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeF16Array, f16Bits } from "./dtype.ts";

/** An independent binary16 decoder from the format's definition, in float64. */
function halfValue(h: number): number {
  const sign = h >> 15 ? -1 : 1;
  const exp = (h >> 10) & 31;
  const frac = h & 1023;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (exp === 0) return sign * (frac / 1024) * 2 ** -14;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

test("decodeF16Array decodes every one of the 65,536 half bit patterns exactly", () => {
  const halves = new Uint16Array(65536);
  for (let h = 0; h < 65536; h++) halves[h] = h;
  // Reverse the order so that a decoder indexing by position rather than by value would fail.
  halves.reverse();
  const out = decodeF16Array(halves, new Float32Array(65536));
  for (let i = 0; i < halves.length; i++) {
    const want = halfValue(halves[i]);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(out[i]), `bits ${halves[i]} should be NaN`);
    else assert.equal(out[i], want, `bits 0x${halves[i].toString(16)}`);
  }
  // Signed zeros stay signed: -0 has bits 0x8000.
  assert.ok(Object.is(decodeF16Array(new Uint16Array([0x8000]), new Float32Array(1))[0], -0));
});

test("decodeF16Array round-trips f16Bits on values seen in weights", () => {
  const values = [0, 1, -1, 0.5, Math.PI, -2.5e-3, 6.1e-5, 1e-7, 65504, -65504, 1e5];
  const halves = Uint16Array.from(values, f16Bits);
  const out = decodeF16Array(halves, new Float32Array(values.length));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Math.abs(v) > 65520) assert.equal(out[i], Math.sign(v) * Number.POSITIVE_INFINITY);
    else
      assert.ok(
        Math.abs(out[i] - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25),
        `${v} → ${out[i]}`,
      );
  }
});

test("decodeF16Array refuses an output shorter than its input", () => {
  assert.throws(
    () => decodeF16Array(new Uint16Array(4), new Float32Array(3)),
    /3 outputs for 4 halves/,
  );
});
