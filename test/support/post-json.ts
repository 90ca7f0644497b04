/**
 * POSTs `body` as JSON to `http://127.0.0.1:<port><path>` (a webhook EventSource) and reads the
 * answer to its end: the status and the id of the stored event (`x-event-id`), if any.
 */
export async function postJson(
  port: number,
  path: string,
  body: unknown,
): Promise<{ status: number; id: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.text();
  return { status: res.status, id: res.headers.get("x-event-id") };
}
