/**
 * Reverse-mode autodiff over the op table: walks the recorded graph from a scalar loss in
 * reverse topological order and asks each op's `backward` for its inputs' gradients.
 * Leaf tensors with requiresGrad (parameters) receive `.grad`, accumulated across calls.
 */
import { keep, noGrad, tidy } from "./engine.ts";
import { DeviceError } from "./errors.ts";
import { add, fill } from "./ops/elementwise.ts";
import { fmt, sameShape } from "./shape.ts";
import type { GradNode, Tensor } from "./tensor.ts";

export function backward(loss: Tensor, seed?: Tensor): void {
  if (!loss.requiresGrad)
    throw new DeviceError(`backward: ${loss} does not require grad (no parameter reaches it)`);
  if (!seed && loss.size !== 1) {
    throw new DeviceError(
      `backward: loss must have one element, got shape ${fmt(loss.shape)}; pass a seed gradient`,
    );
  }
  if (seed && !sameShape(seed.shape, loss.shape)) {
    throw new DeviceError(
      `backward: seed gradient ${fmt(seed.shape)} does not match loss ${fmt(loss.shape)}`,
    );
  }
  // Topological order of nodes reachable from the loss.
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: [GradNode, number][] = loss.node ? [[loss.node, 0]] : [];
  if (loss.node) seen.add(loss.node);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const child = node.inputs[i].node;
      if (child && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  tidy(() => {
    noGrad(() => {
      const grads = new Map<Tensor, Tensor>();
      const accumulate = (t: Tensor, g: Tensor) => {
        if (!sameShape(t.shape, g.shape)) {
          throw new DeviceError(
            `backward: gradient ${fmt(g.shape)} does not match tensor ${fmt(t.shape)} (${t.node?.op.name ?? "leaf"})`,
          );
        }
        const prev = grads.get(t);
        grads.set(t, prev ? add(prev, g) : g);
      };
      accumulate(loss, seed ?? fill(loss, 1));
      for (let n = order.length - 1; n >= 0; n--) {
        const node = order[n];
        const outGrads = node.outputs.map((o) => grads.get(o));
        if (outGrads.every((g) => g === undefined)) continue;
        const needs = node.inputs.map((t) => t.requiresGrad);
        const inGrads = node.op.backward!({
          inputs: node.inputs,
          outputs: node.outputs,
          grads: outGrads,
          attrs: node.attrs,
          needs,
        });
        node.inputs.forEach((t, i) => {
          const g = inGrads[i];
          if (g && needs[i]) accumulate(t, g);
        });
      }
      // Leaves (no node) with requiresGrad keep their gradient beyond this scope.
      for (const [t, g] of grads) {
        if (t.node || !t.requiresGrad) continue;
        const total = t.grad ? add(t.grad, g) : g;
        if (t.grad && t.grad !== total) t.grad.dispose();
        t.grad = keep(total);
      }
    });
  });
}
