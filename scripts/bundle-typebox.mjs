// After `tsc`: bundles dist/config/schema/typebox.js (TypeBox's builder and compiler, ~680 ES
// modules) into one file, so that `validate`, `replay` and `run` load one module instead of
// hundreds. Without rolldown (a development dependency) the file stays as tsc wrote it: it works
// the same, only starts slower.
import { readFile, rename, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const file = fileURLToPath(new URL("../dist/config/schema/typebox.js", import.meta.url));
const tmp = `${file}.bundle`;
let build;
try {
  ({ build } = await import("rolldown"));
} catch {
  process.stderr.write("bundle-typebox: rolldown is not installed; typebox stays unbundled\n");
  process.exit(0);
}
const license = await readFile(new URL("../node_modules/typebox/license", import.meta.url), "utf8");
await build({
  input: file,
  platform: "node",
  logLevel: "warn",
  output: {
    file: tmp,
    format: "esm",
    banner: `/*! Bundled from the typebox package by scripts/bundle-typebox.mjs.\n${license.trim()}\n*/`,
  },
});
await rm(file);
await rm(`${file}.map`, { force: true }); // tsc's map describes the unbundled file
await rename(tmp, file);
