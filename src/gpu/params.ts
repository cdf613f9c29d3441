/**
 * Builds a kernel's uniform block: 32-bit scalars packed in declaration order, padded to 16
 * bytes. The WGSL struct must declare the same fields in the same order (u32, i32 or f32 each).
 */
export class Params {
  private readonly data = new DataView(new ArrayBuffer(1024));
  private offset = 0;

  u32(...values: number[]): this {
    for (const v of values) {
      this.data.setUint32(this.offset, v >>> 0, true);
      this.offset += 4;
    }
    return this;
  }

  i32(...values: number[]): this {
    for (const v of values) {
      this.data.setInt32(this.offset, v | 0, true);
      this.offset += 4;
    }
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) {
      this.data.setFloat32(this.offset, v, true);
      this.offset += 4;
    }
    return this;
  }

  /** Pads with zeros to a multiple of 16 bytes (the start of a vec4 or array<vec4> field). */
  align16(): this {
    this.offset = Math.ceil(this.offset / 16) * 16;
    return this;
  }

  bytes(): Uint8Array {
    const n = Math.max(16, Math.ceil(this.offset / 16) * 16);
    return new Uint8Array(this.data.buffer, 0, n);
  }
}

export function params(): Params {
  return new Params();
}
