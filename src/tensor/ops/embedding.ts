/**
 * Embedding lookup: rows of a [V, D] table picked by i32 ids. The table's gradient is a
 * scatter-add of the output gradient into the rows the ids picked (`embedding_backward`).
 *
 * Ids outside [0, V) give a zero row on every device (and receive no gradient): a GPU kernel
 * cannot raise an error without reading the ids back, so neither device does.
 */

import { isFloat } from "../dtype.ts";
import { run1 } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type OpDef } from "../op.ts";
import { fmt } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

export type EmbeddingAttrs = Record<string, never>;

export interface EmbeddingBackwardAttrs {
  /** Rows of the table the gradient is for (V). */
  vocab: number;
}

export const embeddingOp = defineOp<EmbeddingAttrs>({
  name: "embedding",
  infer([table, ids]) {
    if (!ids) throw new ShapeError("embedding: needs a table and an ids tensor");
    if (table.shape.length !== 2)
      throw new ShapeError(`embedding: table must be [V, D], got ${fmt(table.shape)}`);
    if (!isFloat(table.dtype))
      throw new DTypeError(
        `embedding: table must be float, got ${table.dtype} ${fmt(table.shape)}`,
      );
    if (ids.dtype !== "i32")
      throw new DTypeError(`embedding: ids must be i32, got ${ids.dtype} ${fmt(ids.shape)}`);
    return [{ shape: [...ids.shape, table.shape[1]], dtype: table.dtype }];
  },
  backward({ inputs: [table, ids], grads: [g], needs }) {
    if (!g || !needs[0]) return [undefined, undefined];
    return [embeddingBackward(g, ids, table.shape[0]), undefined];
  },
});

/** Gradient of the table: out[v] = Σ over positions n with ids[n] = v of g[n]. */
export const embeddingBackwardOp = defineOp<EmbeddingBackwardAttrs>({
  name: "embedding_backward",
  infer([g, ids], a) {
    if (!ids) throw new ShapeError("embedding_backward: needs a gradient and an ids tensor");
    if (ids.dtype !== "i32")
      throw new DTypeError(
        `embedding_backward: ids must be i32, got ${ids.dtype} ${fmt(ids.shape)}`,
      );
    if (!isFloat(g.dtype))
      throw new DTypeError(
        `embedding_backward: gradient must be float, got ${g.dtype} ${fmt(g.shape)}`,
      );
    const fits =
      g.shape.length === ids.shape.length + 1 && ids.shape.every((d, i) => d === g.shape[i]);
    if (!fits) {
      throw new ShapeError(
        `embedding_backward: gradient ${fmt(g.shape)} is not ids ${fmt(ids.shape)} plus one dimension`,
      );
    }
    if (!Number.isInteger(a.vocab) || a.vocab < 0)
      throw new ShapeError(
        `embedding_backward: vocab must be a non-negative integer, got ${a.vocab}`,
      );
    return [{ shape: [a.vocab, g.shape[g.shape.length - 1]], dtype: g.dtype }];
  },
  backward({ inputs: [, ids], grads: [g], needs }) {
    // Linear in its gradient input: the adjoint of a scatter-add is the gather.
    if (!g || !needs[0]) return [undefined, undefined];
    return [embedding(g, ids), undefined];
  },
});

export const embeddingOps: readonly OpDef<never>[] = [embeddingOp, embeddingBackwardOp];

/** Looks up rows of `table` [V, D] for i32 `ids` [...] → [..., D]; ids outside [0, V) give zeros. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  return run1(embeddingOp, [table, ids], {});
}

/** Scatter-adds `g` [..., D] into a [vocab, D] table at rows `ids` [...] (deterministic order). */
export function embeddingBackward(g: Tensor, ids: Tensor, vocab: number): Tensor {
  return run1(embeddingBackwardOp, [g, ids], { vocab });
}
