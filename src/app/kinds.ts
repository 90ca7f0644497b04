/**
 * Registers every EventSource and trigger kind with config/ (config/kinds.ts): importing the two
 * registries is what makes `validate`, `replay`, `graph` and `run` know the kinds. Imported once by
 * the CLI (and by the test setup); the kinds' runtimes still load only when used.
 */
import "../eventsources/registry.js";
import "../triggers/registry.js";
