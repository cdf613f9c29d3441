// The package's entry for `import ... from "zoetrope"`: Zoetrope runs from its TypeScript
// source, so tsx's loader is registered before the library module (src/index.ts) is imported.
import { register } from "tsx/esm/api";

register();
const lib = await import(new URL("../src/index.ts", import.meta.url).href);

export const {
  animate,
  connect,
  DEFAULT_MODEL_DIR,
  edit,
  extend,
  loop,
  evaluateVideo,
  expandPrompt,
  generate,
  loadModel,
  readMp4Metadata,
  readVideo,
  sampleScene,
  simulate,
  writeMp4,
} = lib;
