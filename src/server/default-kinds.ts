/** The job kinds Zoetrope serves today; each new mode of the model is registered here. */

import { generateKind, imageKind } from "./kinds/generate.ts";
import { animateKind, connectKind, editKind, extendKind, loopKind } from "./kinds/modes.ts";
import { worldRender } from "./kinds/world-render.ts";
import { KindRegistry } from "./kinds.ts";

export interface DefaultKindsOptions {
  /**
   * The model folder the model's kinds (generate, image, animate, extend, loop, edit, connect)
   * run (the bundled model when absent). It is loaded by the first such job, not here: a missing
   * model fails those jobs with the reason and leaves world-render served.
   */
  model?: string;
}

export function defaultKinds(options: DefaultKindsOptions = {}): KindRegistry {
  return new KindRegistry()
    .register(worldRender)
    .register(generateKind(options))
    .register(imageKind(options))
    .register(animateKind(options))
    .register(extendKind(options))
    .register(loopKind(options))
    .register(editKind(options))
    .register(connectKind(options));
}
