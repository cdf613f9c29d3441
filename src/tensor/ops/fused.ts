/**
 * Fused elementwise chains: up to four broadcasting inputs and a small program of unary and
 * binary steps, evaluated in one kernel (one WGSL module per program structure; constants
 * travel in the uniform block, so changing a constant does not compile a new kernel).
 *
 * The gradient replays the program with the ordinary `unary`/`binary` ops and walks it backward
 * with those ops' own gradient rules, so a fused chain differentiates exactly like the unfused
 * one.
 */

import { isFloat } from "../dtype.ts";
import { run1 } from "../engine.ts";
import { DTypeError, ShapeError } from "../errors.ts";
import { defineOp, type Meta, type OpDef } from "../op.ts";
import { broadcastShapes, fmt, type Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import {
  add,
  BINARY_FNS,
  type BinaryFn,
  binaryOp,
  fill,
  sumTo,
  UNARY_FNS,
  type UnaryFn,
  unaryOp,
} from "./elementwise.ts";

export const MAX_FUSED_INPUTS = 4;
export const MAX_FUSED_STEPS = 32;
/** Numeric operands plus affine alpha/beta values of one program. */
export const MAX_FUSED_CONSTANTS = 32;

/** An operand: input i, the value of an earlier step k, or a constant. */
export type FusedOperand = { input: number } | { step: number } | number;

/** One step of a program; its value is available to later steps as `{ step: k }`. */
export type FusedStep =
  | { unary: UnaryFn; x: FusedOperand; alpha?: number; beta?: number }
  | { binary: BinaryFn; a: FusedOperand; b: FusedOperand };

/** A program's result is the value of its last step. */
export type FusedProgram = readonly FusedStep[];

export interface FusedAttrs {
  steps: FusedProgram;
}

function describeOperand(o: FusedOperand): string {
  return typeof o === "number" ? String(o) : JSON.stringify(o);
}

/** Checks a program against its number of inputs; returns how many constants it carries. */
export function validateProgram(steps: FusedProgram, nInputs: number): number {
  if (!Array.isArray(steps) || steps.length === 0)
    throw new ShapeError("fused: the program needs at least one step");
  if (steps.length > MAX_FUSED_STEPS)
    throw new ShapeError(`fused: ${steps.length} steps exceed the limit of ${MAX_FUSED_STEPS}`);
  const used = new Array<boolean>(nInputs).fill(false);
  let constants = 0;
  const operand = (o: FusedOperand, k: number) => {
    if (typeof o === "number") {
      if (Number.isNaN(o)) throw new ShapeError(`fused: step ${k} has a NaN constant`);
      constants++;
    } else if (o && typeof o === "object" && "input" in o) {
      if (!Number.isInteger(o.input) || o.input < 0 || o.input >= nInputs)
        throw new ShapeError(
          `fused: step ${k} reads input ${o.input} but the op has ${nInputs} inputs`,
        );
      used[o.input] = true;
    } else if (o && typeof o === "object" && "step" in o) {
      if (!Number.isInteger(o.step) || o.step < 0 || o.step >= k)
        throw new ShapeError(`fused: step ${k} reads step ${o.step}, which is not an earlier step`);
    } else {
      throw new ShapeError(`fused: step ${k} has an invalid operand ${describeOperand(o)}`);
    }
  };
  steps.forEach((s, k) => {
    if (s && "unary" in s) {
      if (!UNARY_FNS.includes(s.unary))
        throw new ShapeError(`fused: step ${k} has unknown unary function "${s.unary}"`);
      operand(s.x, k);
      if (s.unary === "affine") constants += 2;
    } else if (s && "binary" in s) {
      if (!BINARY_FNS.includes(s.binary))
        throw new ShapeError(`fused: step ${k} has unknown binary function "${s.binary}"`);
      operand(s.a, k);
      operand(s.b, k);
    } else {
      throw new ShapeError(`fused: step ${k} is neither unary nor binary: ${JSON.stringify(s)}`);
    }
  });
  const unused = used.indexOf(false);
  if (unused >= 0) throw new ShapeError(`fused: input ${unused} is not used by the program`);
  if (constants > MAX_FUSED_CONSTANTS)
    throw new ShapeError(
      `fused: ${constants} constants exceed the limit of ${MAX_FUSED_CONSTANTS}`,
    );
  return constants;
}

/** The common broadcast shape of all inputs; the error names the op and both shapes. */
function outputShape(inputs: Meta[]): Shape {
  let shape: Shape = inputs[0].shape;
  for (const m of inputs.slice(1)) shape = broadcastShapes("fused", shape, m.shape);
  return shape;
}

export const fusedOp = defineOp<FusedAttrs>({
  name: "fused",
  infer(inputs, a) {
    if (inputs.length > MAX_FUSED_INPUTS)
      throw new ShapeError(
        `fused: ${inputs.length} inputs exceed the limit of ${MAX_FUSED_INPUTS}`,
      );
    const first = inputs[0];
    for (const m of inputs) {
      if (!isFloat(m.dtype))
        throw new DTypeError(`fused: needs float tensors, got ${m.dtype} ${fmt(m.shape)}`);
      if (m.dtype !== first.dtype)
        throw new DTypeError(
          `fused: dtypes differ: ${first.dtype} ${fmt(first.shape)} and ${m.dtype} ${fmt(m.shape)}`,
        );
    }
    validateProgram(a.steps, inputs.length);
    return [{ shape: outputShape(inputs), dtype: first.dtype }];
  },
  backward({ inputs, grads: [g], attrs: { steps }, needs }) {
    if (!g) return inputs.map(() => undefined);
    // Replay the program unfused (autograd runs backward without recording).
    const values: Tensor[] = [];
    const dependsOnStep: boolean[] = [];
    const operandValue = (o: FusedOperand): Tensor => {
      if (typeof o === "number") return fill(inputs[0], o, [], inputs[0].dtype);
      return "input" in o ? inputs[o.input] : values[o.step];
    };
    const depends = (o: FusedOperand): boolean => {
      if (typeof o === "number") return false;
      return "input" in o ? needs[o.input] : dependsOnStep[o.step];
    };
    for (const s of steps) {
      if ("unary" in s) {
        values.push(
          run1(unaryOp, [operandValue(s.x)], { fn: s.unary, alpha: s.alpha, beta: s.beta }),
        );
        dependsOnStep.push(depends(s.x));
      } else {
        values.push(run1(binaryOp, [operandValue(s.a), operandValue(s.b)], { fn: s.binary }));
        dependsOnStep.push(depends(s.a) || depends(s.b));
      }
    }
    // Walk the steps backward with the unfused ops' gradient rules.
    const last = steps.length - 1;
    const stepGrads: (Tensor | undefined)[] = new Array(steps.length);
    const inputGrads: (Tensor | undefined)[] = inputs.map(() => undefined);
    stepGrads[last] = sumTo(g, values[last].shape);
    const accumulate = (o: FusedOperand, t: Tensor | undefined) => {
      if (!t || typeof o === "number") return;
      if ("input" in o) {
        const prev = inputGrads[o.input];
        inputGrads[o.input] = prev ? add(prev, t) : t;
      } else {
        const prev = stepGrads[o.step];
        stepGrads[o.step] = prev ? add(prev, t) : t;
      }
    };
    for (let k = last; k >= 0; k--) {
      const gk = stepGrads[k];
      if (!gk || !dependsOnStep[k]) continue;
      const s = steps[k];
      if ("unary" in s) {
        const [gx] = unaryOp.backward!({
          inputs: [operandValue(s.x)],
          outputs: [values[k]],
          grads: [gk],
          attrs: { fn: s.unary, alpha: s.alpha, beta: s.beta },
          needs: [true],
        });
        accumulate(s.x, gx);
      } else {
        const [ga, gb] = binaryOp.backward!({
          inputs: [operandValue(s.a), operandValue(s.b)],
          outputs: [values[k]],
          grads: [gk],
          attrs: { fn: s.binary },
          needs: [depends(s.a), depends(s.b)],
        });
        accumulate(s.a, ga);
        accumulate(s.b, gb);
      }
    }
    return inputs.map((_, i) => (needs[i] ? inputGrads[i] : undefined));
  },
});

export const fusedOps: readonly OpDef<never>[] = [fusedOp];

/**
 * Evaluates `program` over `inputs` (1 to 4 float tensors of one dtype, broadcast to a common
 * shape) in a single kernel. Operands are `{ input: i }`, `{ step: k }` or numbers.
 */
export function fusedElementwise(inputs: Tensor[], program: FusedProgram): Tensor {
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new ShapeError("fused: needs at least one input tensor");
  return run1(fusedOp, inputs, { steps: program });
}

/** a + alpha·b, in one kernel. */
export function addScaled(a: Tensor, b: Tensor, alpha: number): Tensor {
  return fusedElementwise(
    [a, b],
    [
      { binary: "mul", a: { input: 1 }, b: alpha },
      { binary: "add", a: { input: 0 }, b: { step: 0 } },
    ],
  );
}

/** x + gate·y, in one kernel (e.g. a [B,1,D] gate broadcast over [B,T,D]). */
export function gatedResidual(x: Tensor, gate: Tensor, y: Tensor): Tensor {
  return fusedElementwise(
    [x, gate, y],
    [
      { binary: "mul", a: { input: 1 }, b: { input: 2 } },
      { binary: "add", a: { input: 0 }, b: { step: 0 } },
    ],
  );
}

/** a + t·(b − a), with t a tensor (broadcast) or a number, in one kernel. */
export function lerp(a: Tensor, b: Tensor, t: Tensor | number): Tensor {
  const weight: FusedOperand = typeof t === "number" ? t : { input: 2 };
  return fusedElementwise(typeof t === "number" ? [a, b] : [a, b, t], [
    { binary: "sub", a: { input: 1 }, b: { input: 0 } },
    { binary: "mul", a: weight, b: { step: 0 } },
    { binary: "add", a: { input: 0 }, b: { step: 1 } },
  ]);
}
