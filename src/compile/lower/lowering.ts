/**
 * What a lowering is: a function from one recorded op call to ONNX nodes. It gets the op's input
 * values (ONNX value names), their shapes and dtypes, the output shapes and the op's attributes,
 * and returns the output values, in order. An in-place op (AdamW, EMA, assign, …) returns the new
 * value of each input it writes, in the order of its `inplace` list: the compiled graph is
 * functional, and the compiler turns those new values into the step's state outputs.
 */
import type { Meta } from "../../tensor/op.ts";
import type { GraphBuilder } from "../builder.ts";

export interface LowerArgs<A> {
  b: GraphBuilder;
  /** Input values. */
  x: string[];
  /** Input shapes and dtypes. */
  in: Meta[];
  /** Output shapes and dtypes (empty for in-place ops). */
  out: Meta[];
  attrs: A;
  /**
   * A float scalar that may change between calls without recompiling (AdamW's learning rate):
   * a graph input when the compiled program declares `name` dynamic, else a constant.
   */
  dynamic(name: string, value: number): string;
}

export type Lowering<A> = (a: LowerArgs<A>) => string[];

export type LoweringTable = Record<string, Lowering<never>>;
