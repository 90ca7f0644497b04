import { appendFile, chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBusError } from "../../src/errors.js";
import { fileAdapter } from "../../src/eventsources/file/runtime.js";
import type { FileEventSpec } from "../../src/eventsources/file/schema.js";
import {
  type AdapterContext,
  type EmitInput,
  type EmitResult,
  type RunningAdapter,
  systemClock,
} from "../../src/eventsources/types.js";
import { logSink } from "../support/log-sink.js";
import { waitUntil } from "../support/nats-server.js";

/**
 * The file EventSource on real directories (a temporary one per test), inotify and polling. Every
 * test ends with a marker file the entry also matches, so "nothing else arrived" is checked
 * without waiting for an absence.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sb-file-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function freshDir(): Promise<string> {
  const d = join(root, `d${n++}`);
  await mkdir(d);
  return `${d}/`;
}

interface Harness {
  emitted: Array<{ eventName: string; data: Record<string, unknown>; raw: string }>;
  ctx: AdapterContext;
  lines: Array<Record<string, unknown>>;
}

function harness(behaviour?: (input: EmitInput) => Promise<void>): Harness {
  const emitted: Harness["emitted"] = [];
  const l = logSink();
  return {
    emitted,
    lines: l.lines,
    ctx: {
      eventSourceName: "file-es",
      namespace: "default",
      emit: async (eventName: string, input: EmitInput): Promise<EmitResult> => {
        if (behaviour) await behaviour(input);
        emitted.push({ eventName, data: JSON.parse(input.data), raw: input.data });
        return { id: "x", status: "published" };
      },
      log: l.log,
      values: {} as never,
      clock: systemClock,
      signal: new AbortController().signal,
    },
  };
}

async function start(
  h: Harness,
  entries: Array<{ eventName: string; spec: FileEventSpec }>,
): Promise<RunningAdapter> {
  return fileAdapter.start(entries, h.ctx);
}

const names = (h: Harness, eventName?: string) =>
  h.emitted.filter((e) => !eventName || e.eventName === eventName).map((e) => e.data.name);

describe.each([false, true])("file EventSource (polling: %s)", (polling) => {
  const nameOf = (dir: string, base: string) => (polling ? base : `${dir}${base}`);

  it("CREATE, WRITE, REMOVE, RENAME each fire with Argo's payload (op as fsevent's number)", async () => {
    const dir = await freshDir();
    const h = harness();
    const entry = (eventType: string): FileEventSpec => ({
      eventType,
      watchPathConfig: { directory: dir, pathRegexp: "^x" },
      polling,
      metadata: { team: "files" },
    });
    const running = await start(h, [
      { eventName: "create", spec: entry("CREATE") },
      { eventName: "write", spec: entry("WRITE") },
      { eventName: "remove", spec: entry("REMOVE") },
      { eventName: "rename", spec: entry("RENAME") },
    ]);
    try {
      await writeFile(join(dir, "x1.txt"), "a");
      await waitUntil(() => names(h, "create").length === 1, "CREATE");
      await appendFile(join(dir, "x1.txt"), "b");
      await waitUntil(() => names(h, "write").length >= 1, "WRITE");
      await rename(join(dir, "x1.txt"), join(dir, "x2.txt"));
      await waitUntil(() => names(h, "rename").length === 1, "RENAME");
      await rm(join(dir, "x2.txt"));
      await waitUntil(() => names(h, "remove").length === 1, "REMOVE");
      const byEvent = (ev: string) => h.emitted.find((e) => e.eventName === ev)!;
      expect(byEvent("create").raw).toBe(
        `{"name":${JSON.stringify(nameOf(dir, "x1.txt"))},"op":1,"metadata":{"team":"files"}}`,
      );
      expect(byEvent("write").data).toMatchObject({ name: nameOf(dir, "x1.txt"), op: 2 });
      // The old name gets RENAME (not REMOVE); the new name CREATE with inotify only.
      expect(byEvent("rename").data).toMatchObject({ name: nameOf(dir, "x1.txt"), op: 8 });
      expect(byEvent("remove").data).toMatchObject({ name: nameOf(dir, "x2.txt"), op: 4 });
      expect(names(h, "remove")).toEqual([nameOf(dir, "x2.txt")]);
      expect(names(h, "create")).toEqual(
        polling ? [nameOf(dir, "x1.txt")] : [nameOf(dir, "x1.txt"), nameOf(dir, "x2.txt")],
      );
    } finally {
      await running.stop();
    }
  });

  it("path matches one name only; other files are ignored", async () => {
    const dir = await freshDir();
    const h = harness();
    const running = await start(h, [
      {
        eventName: "one",
        spec: { eventType: "CREATE", watchPathConfig: { directory: dir, path: "x.txt" }, polling },
      },
      {
        eventName: "marker",
        spec: {
          eventType: "CREATE",
          watchPathConfig: { directory: dir, path: "marker" },
          polling,
        },
      },
    ]);
    try {
      await writeFile(join(dir, "y.txt"), "");
      await writeFile(join(dir, "x.txt.bak"), "");
      await writeFile(join(dir, "x.txt"), "");
      await mkdir(join(dir, "sub"));
      await writeFile(join(dir, "sub", "x.txt"), ""); // not watched: one level only
      await writeFile(join(dir, "marker"), "");
      await waitUntil(() => names(h, "marker").length === 1, "the marker");
      await waitUntil(() => names(h, "one").length === 1, "x.txt");
      expect(names(h, "one")).toEqual([nameOf(dir, "x.txt")]);
      expect(h.emitted.every((e) => e.raw.endsWith('"metadata":null}'))).toBe(true);
    } finally {
      await running.stop();
    }
  });

  it("pathRegexp is a Go regexp over the relative name (unanchored), through lib/re2", async () => {
    const dir = await freshDir();
    const h = harness();
    const running = await start(h, [
      {
        eventName: "csv",
        spec: {
          eventType: "CREATE",
          watchPathConfig: { directory: dir, pathRegexp: "\\.csv$|^marker$" },
          polling,
        },
      },
    ]);
    try {
      for (const f of ["a.csv", "b.csv.tmp", "c.txt", "data.csv", "marker"])
        await writeFile(join(dir, f), "");
      await waitUntil(() => names(h).includes(nameOf(dir, "marker")), "the marker");
      await waitUntil(() => names(h).length >= 3, "both csv files");
      expect([...names(h)].sort()).toEqual(
        [nameOf(dir, "a.csv"), nameOf(dir, "data.csv"), nameOf(dir, "marker")].sort(),
      );
    } finally {
      await running.stop();
    }
  });
});

describe("file EventSource (inotify only)", () => {
  it("CHMOD fires for a mode change alone, WRITE for a content change", async () => {
    const dir = await freshDir();
    const h = harness();
    const spec = (eventType: string): FileEventSpec => ({
      eventType,
      watchPathConfig: { directory: dir, path: "f" },
    });
    await writeFile(join(dir, "f"), "x");
    const running = await start(h, [
      { eventName: "chmod", spec: spec("CHMOD") },
      { eventName: "write", spec: spec("WRITE") },
    ]);
    try {
      await chmod(join(dir, "f"), 0o600);
      await waitUntil(() => names(h, "chmod").length === 1, "CHMOD");
      await appendFile(join(dir, "f"), "y");
      await waitUntil(() => names(h, "write").length >= 1, "WRITE");
      expect(h.emitted.find((e) => e.eventName === "chmod")!.data.op).toBe(16);
      expect(names(h, "chmod")).toHaveLength(1);
    } finally {
      await running.stop();
    }
  });

  it("a directory without a trailing slash: path never matches (Argo's TrimPrefix), pathRegexp does", async () => {
    const dir = (await freshDir()).replace(/\/$/, "");
    const h = harness();
    const running = await start(h, [
      {
        eventName: "path",
        spec: { eventType: "CREATE", watchPathConfig: { directory: dir, path: "x" } },
      },
      {
        eventName: "re",
        spec: { eventType: "CREATE", watchPathConfig: { directory: dir, pathRegexp: "^/x$" } },
      },
    ]);
    try {
      await writeFile(join(dir, "x"), "");
      await waitUntil(() => names(h, "re").length === 1, "the regexp entry");
      expect(names(h, "path")).toEqual([]);
      expect(names(h, "re")).toEqual([`${dir}/x`]);
    } finally {
      await running.stop();
    }
  });

  it("events the bus refuses are retried until stored, in order, and logged once", async () => {
    const dir = await freshDir();
    let refuse = 3;
    const h = harness(async () => {
      if (refuse-- > 0)
        throw new EventBusError("SB_ERR_BUS_UNAVAILABLE", "down", { retryable: true });
    });
    const running = await start(h, [
      {
        eventName: "c",
        spec: { eventType: "CREATE", watchPathConfig: { directory: dir, pathRegexp: "." } },
      },
    ]);
    try {
      await writeFile(join(dir, "a"), "");
      await writeFile(join(dir, "b"), "");
      await waitUntil(() => h.emitted.length === 2, "both stored", 20_000);
      expect(names(h)).toEqual([`${dir}a`, `${dir}b`]);
      expect(
        h.lines.filter(
          (l) => l.msg === "file event not accepted by the bus; retrying with backoff",
        ),
      ).toHaveLength(1);
    } finally {
      await running.stop();
    }
  });

  it("a missing directory fails the start with an error naming the field", async () => {
    const h = harness();
    await expect(
      start(h, [
        {
          eventName: "gone",
          spec: {
            eventType: "CREATE",
            watchPathConfig: { directory: join(root, "nope/"), path: "x" },
          },
        },
      ]),
    ).rejects.toThrow(
      /spec\.file\.gone\.watchPathConfig\.directory: failed to add directory .*nope\/ to the watcher: no such directory/,
    );
  });
});
