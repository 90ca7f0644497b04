import { stat } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";

/**
 * A full-page screenshot of the console, checked to be a real picture (over 10 kB). The README's
 * `docs/<readmeName>` is rewritten only on request (`UPDATE_SCREENSHOTS=1`): a plain test run
 * writes `<dir>/<file>` and leaves the tree clean.
 */
export async function consoleScreenshot(
  page: { screenshot(options: { path: string; fullPage: boolean }): Promise<unknown> },
  readmeName: string,
  dir: string,
  file: string,
): Promise<void> {
  const shot =
    process.env.UPDATE_SCREENSHOTS === "1"
      ? new URL(`../../docs/${readmeName}`, import.meta.url).pathname
      : join(dir, file);
  await page.screenshot({ path: shot, fullPage: true });
  expect((await stat(shot)).size).toBeGreaterThan(10_000);
}
