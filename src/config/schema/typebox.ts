/**
 * The TypeBox values the schemas use (the builder and the checker), from this one module. `npm run build` bundles it with the
 * ~680 modules of the typebox package into a single file (scripts/bundle-typebox.mjs): loading
 * them one by one was most of the start-up time of `validate` and `replay`.
 */

export { default as Type } from "typebox";
export { Errors } from "typebox/value";
