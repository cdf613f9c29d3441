import type { DType } from "./dtype.ts";
import type { Shape } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/** Shape and dtype of an operand, which is all shape inference needs. */
export interface Meta {
  shape: Shape;
  dtype: DType;
}

export interface BackwardContext<A> {
  inputs: Tensor[];
  outputs: Tensor[];
  /** Gradients of the outputs (undefined where an output did not reach the loss). */
  grads: (Tensor | undefined)[];
  attrs: A;
  /** Whether input i needs a gradient (skip the work when it does not). */
  needs: boolean[];
}

/**
 * One entry of the op table. The executor reads `infer` to check operands and size outputs,
 * each backend looks up its kernel by `name`, autograd calls `backward`, and the graph recorder
 * stores (name, operands, attrs) so a forward pass can be exported.
 */
export interface OpDef<A> {
  readonly name: string;
  /** Checks operands and attributes, returns the outputs' metas; errors name the op and the shapes. */
  infer(inputs: Meta[], attrs: A): Meta[];
  /** Gradients of the inputs, written with tensor functions so they run on any device. */
  backward?(ctx: BackwardContext<A>): (Tensor | undefined)[];
  /** Inputs this op overwrites (optimiser updates); such ops have no outputs and no gradient. */
  readonly inplace?: readonly number[];
  /** The output is a view of input 0 with another shape: no kernel runs, no memory is copied. */
  readonly view?: boolean;
}

export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}
