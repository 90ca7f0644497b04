export type { Defaults } from "./defaults.js";
export { DEFAULTS } from "./defaults.js";
export type { LoadResult, Problem } from "./load.js";
export {
  formatProblem,
  hasErrors,
  loadManifests,
  problemsToError,
  validateManifest,
} from "./load.js";
export { jsonSchemas } from "./schema/index.js";
export type * from "./types.js";
export { EXECUTED_TRIGGER_KINDS, parseCron } from "./validate.js";
