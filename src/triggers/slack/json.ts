/** Why `text` is not a JSON array (Argo unmarshals `attachments` and `blocks` into slices). */
export function jsonArrayProblem(text: string): string | undefined {
  try {
    return Array.isArray(JSON.parse(text)) ? undefined : "not a JSON array";
  } catch (e) {
    return `not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
}
