/**
 * A minimal protocol-buffers writer for the parts of the ONNX schema (onnx.proto3) that the
 * compiler emits: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and
 * ValueInfoProto. Field numbers are the ones onnx.proto assigns; we only ever write, never read,
 * so a few dozen lines replace a protobuf dependency.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** An append-only byte buffer with protobuf field encoders. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private pos = 0;
  private total = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = new Uint8Array(Math.max(256, n, this.cur.length * 2));
    this.pos = 0;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.cur[this.pos++] = b;
    this.total++;
  }

  /** Unsigned or negative (two's complement, 10 bytes) varint of a safe integer. */
  private rawVarint(v: number): void {
    if (v >= 0 && v < 0x80000000) {
      let x = v;
      while (x >= 0x80) {
        this.byte((x & 0x7f) | 0x80);
        x >>>= 7;
      }
      this.byte(x);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  private rawBytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.cur.set(b, this.pos);
    this.pos += b.length;
    this.total += b.length;
  }

  varint(field: number, v: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.rawBytes(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(b.length);
    this.rawBytes(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** A nested message written by `fill` into its own writer. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    fill(inner);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated varints (int64 lists such as dims, ints). */
  packedVarints(field: number, vs: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of vs) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated floats. */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => {
      dv.setFloat32(i * 4, v, true);
    });
    return this.bytes(field, b);
  }

  get length(): number {
    return this.total;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    out.set(this.cur.subarray(0, this.pos), o);
    return out;
  }
}

/** TensorProto.DataType values. */
export const ONNX_TYPE = { float: 1, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 } as const;
export type OnnxElemType = keyof typeof ONNX_TYPE;

export type AttrValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { floats: number[] }
  | { ints: number[] }
  | { t: OnnxTensor };

export interface OnnxTensor {
  name?: string;
  dims: readonly number[];
  type: OnnxElemType;
  /** Little-endian element bytes. */
  raw?: Uint8Array;
  /** Stored outside the model file (export): location relative to the model, offset, length. */
  external?: { location: string; offset: number; length: number };
}

export interface OnnxNode {
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name?: string;
}

export interface OnnxValueInfo {
  name: string;
  type: OnnxElemType;
  dims: readonly number[];
}

export interface OnnxModel {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number;
  /** Extra operator-set domains, e.g. { "com.microsoft": 1 }. */
  domains?: Record<string, number>;
  graphName?: string;
  docString?: string;
}

const ATTR_TYPE = { f: 1, i: 2, s: 3, t: 4, floats: 6, ints: 7 } as const;

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  w.packedVarints(1, [...t.dims]);
  w.varint(2, ONNX_TYPE[t.type]);
  if (t.name !== undefined) w.string(8, t.name);
  if (t.external) {
    for (const [k, v] of [
      ["location", t.external.location],
      ["offset", String(t.external.offset)],
      ["length", String(t.external.length)],
    ]) {
      w.message(13, (e) => e.string(1, k).string(2, v));
    }
    w.varint(14, 1);
  } else {
    w.bytes(9, t.raw ?? new Uint8Array(0));
  }
}

function writeAttr(w: ProtoWriter, name: string, v: AttrValue): void {
  w.string(1, name);
  if ("f" in v) w.float(2, v.f).varint(20, ATTR_TYPE.f);
  else if ("i" in v) w.varint(3, v.i).varint(20, ATTR_TYPE.i);
  else if ("s" in v) w.string(4, v.s).varint(20, ATTR_TYPE.s);
  else if ("t" in v) w.message(5, (t) => writeTensor(t, v.t)).varint(20, ATTR_TYPE.t);
  else if ("floats" in v) w.packedFloats(7, v.floats).varint(20, ATTR_TYPE.floats);
  else w.packedVarints(8, v.ints).varint(20, ATTR_TYPE.ints);
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.varint(1, ONNX_TYPE[v.type]);
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => dim.varint(1, d));
      });
    }),
  );
}

/** Serialises a model as ONNX (IR version 8). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, 8); // ir_version
  w.string(2, "zoetrope");
  w.string(3, "0.1.0");
  w.message(7, (g) => {
    m.nodes.forEach((n, k) => {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name ?? `n${k}`);
        nw.string(4, n.opType);
        for (const [name, v] of Object.entries(n.attrs))
          nw.message(5, (a) => writeAttr(a, name, v));
        if (n.domain) nw.string(7, n.domain);
      });
    });
    g.string(2, m.graphName ?? "zoetrope");
    for (const t of m.initializers) g.message(5, (tw) => writeTensor(tw, t));
    if (m.docString) g.string(10, m.docString);
    for (const i of m.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of m.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  });
  w.message(8, (o) => o.string(1, "").varint(2, m.opset));
  for (const [domain, version] of Object.entries(m.domains ?? {}))
    w.message(8, (o) => o.string(1, domain).varint(2, version));
  return w.finish();
}
