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
export { parseCron } from "./validate.js";
