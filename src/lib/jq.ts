import { raw } from "jq-wasm";

/**
 * jq for Argo's dependency `transform.jq`, run by the real jq compiled to WebAssembly (jq-wasm).
 * Argo uses gojq; the language is the same for the filters users write (gojq differs in a few
 * corners: key order of `keys_unsorted`, arbitrary-precision integers, no `input_filename`).
 *
 * Returns the first output as JSON text, or undefined when the program produced none.
 */
export async function runJq(inputJson: string, program: string): Promise<string | undefined> {
  let out: string;
  try {
    out = await raw(inputJson, program, ["-c"]);
  } catch (err) {
    throw new Error((err instanceof Error ? err.message : String(err)).trim());
  }
  const first = out.split("\n").find((line) => line.trim() !== "");
  return first;
}
