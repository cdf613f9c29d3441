/** The job kinds Zoetrope serves today; each new mode of the model is registered here. */

import { worldRender } from "./kinds/world-render.ts";
import { KindRegistry } from "./kinds.ts";

export function defaultKinds(): KindRegistry {
  return new KindRegistry().register(worldRender);
}
