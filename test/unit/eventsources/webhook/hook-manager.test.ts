import { describe, expect, it } from "vitest";
import { hookTargets as githubTargets } from "../../../../src/eventsources/github/targets.js";
import {
  hookTargets as gitlabTargets,
  hookFlags,
} from "../../../../src/eventsources/gitlab/targets.js";
import type { AdapterContext } from "../../../../src/eventsources/types.js";
import {
  type HookTarget,
  manageHooks,
  type ProviderHooks,
} from "../../../../src/eventsources/webhook/hook-manager.js";
import { FakeClock } from "../../../support/fake-clock.js";
import { logSink } from "../../../support/log-sink.js";

/** A provider whose answers the test scripts: per target, a queue of ok / error outcomes. */
function scripted() {
  const calls: string[] = [];
  const outcomes = new Map<string, Array<"ok" | Error>>();
  const registered = new Map<string, number>();
  let next = 1;
  const api: ProviderHooks<HookTarget> = {
    async ensure(t, refresh) {
      calls.push(`ensure ${t.label} refresh=${refresh}`);
      const o = outcomes.get(t.label)?.shift() ?? "ok";
      if (o instanceof Error) throw o;
      const known = registered.get(t.label);
      if (known !== undefined) return { id: known, action: refresh ? "updated" : "unchanged" };
      registered.set(t.label, next);
      return { id: next++, action: "created" };
    },
    async remove(t, id) {
      calls.push(`remove ${t.label} ${id}`);
      const o = outcomes.get(`remove ${t.label}`)?.shift();
      if (o instanceof Error) throw o;
      registered.delete(t.label);
    },
    describe: (err) => `HTTP ${(err as Error).message}`,
  };
  return { api, calls, outcomes, registered };
}

function context(clock: FakeClock) {
  const { log, lines } = logSink();
  const abort = new AbortController();
  const ctx = {
    log,
    clock,
    signal: abort.signal,
  } as unknown as AdapterContext;
  return { ctx, abort, messages: () => lines.map((l) => l.msg as string) };
}

/** manageHooks over the scripted provider, two targets by default, deleting on finish. */
function manage(
  p: ReturnType<typeof scripted>,
  ctx: AdapterContext,
  extra: Partial<Parameters<typeof manageHooks>[0]> = {},
) {
  return manageHooks({
    provider: "GitHub",
    eventName: "e",
    url: "https://x/hook",
    targets: [A, B],
    hooks: async () => p.api,
    ctx,
    deleteOnFinish: true,
    ...extra,
  });
}

const A = { label: "repository o/a" };
const B = { label: "repository o/b" };

describe("manageHooks", () => {
  it("registers each target, retries a failure every resync, logging it once and its recovery", async () => {
    const clock = new FakeClock(0);
    const { ctx, abort, messages } = context(clock);
    const p = scripted();
    p.outcomes.set(B.label, [new Error("503 down"), new Error("503 down"), "ok"]);
    const m = manage(p, ctx, { resyncMs: 1000 });
    await clock.idle();
    expect(messages()).toEqual([
      "GitHub hook created on repository o/a",
      "GitHub hook not registered on repository o/b: HTTP 503 down; the webhook keeps serving, retried in 1s",
    ]);
    await clock.step(); // second pass: o/b fails the same way, not logged again; o/a unchanged
    await clock.step(); // third pass: o/b created
    await clock.idle();
    expect(messages().slice(2)).toEqual([
      "GitHub hook created on repository o/b (it failed before)",
    ]);
    // A hook removed by hand comes back at the next pass.
    p.registered.delete(A.label);
    await clock.step();
    await clock.idle();
    expect(messages().at(-1)).toBe("GitHub hook created on repository o/a");
    expect(p.calls.filter((c) => c.startsWith("ensure repository o/a"))).toEqual([
      "ensure repository o/a refresh=true",
      "ensure repository o/a refresh=false",
      "ensure repository o/a refresh=false",
      "ensure repository o/a refresh=false",
    ]);
    abort.abort();
    await m.stop();
    expect(p.calls.slice(-2)).toEqual(["remove repository o/a 3", "remove repository o/b 2"]);
    expect(messages().slice(-2)).toEqual([
      "GitHub hook deleted on repository o/a",
      "GitHub hook deleted on repository o/b",
    ]);
  });

  it("on stop, deletes what it registered, says which it never registered, and logs a failed delete", async () => {
    const clock = new FakeClock(0);
    const { ctx, abort, messages } = context(clock);
    const p = scripted();
    p.outcomes.set(A.label, [new Error("404 Not Found")]);
    p.outcomes.set(`remove ${B.label}`, [new Error("500 oops")]);
    const m = manage(p, ctx, { provider: "GitLab" });
    await clock.idle();
    abort.abort();
    await m.stop();
    expect(messages().slice(2)).toEqual([
      "GitLab hook on repository o/a not deleted: it was never registered",
      "GitLab hook on repository o/b not deleted: HTTP 500 oops",
    ]);
  });

  it("stops by itself, deletes nothing without deleteOnFinish, and logs a client that cannot be built", async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const p = scripted();
    const m = manage(p, ctx, { targets: [A], deleteOnFinish: false });
    await clock.idle();
    // stop() ends the resync loop by itself (an adapter stopped without its context aborted).
    await m.stop();
    expect(p.calls.some((c) => c.startsWith("remove"))).toBe(false);
    const broken = context(clock);
    const b = manage(p, broken.ctx, {
      hooks: async () => {
        throw new Error("invalid private key");
      },
    });
    await b.stop();
    expect(broken.messages()).toEqual(["GitHub hooks not registered: invalid private key"]);
  });
});

describe("hook targets and flags as Argo derives them", () => {
  it("github: organizations, then each owner/name (the deprecated owner + repository too)", () => {
    expect(
      githubTargets({ organizations: ["org"], repositories: [{ owner: "o", names: ["a", "b"] }] }),
    ).toEqual([
      { label: "organization org", owner: "org" },
      { label: "repository o/a", owner: "o", repo: "a" },
      { label: "repository o/b", owner: "o", repo: "b" },
    ]);
    expect(githubTargets({ owner: "argoproj", repository: "argo-events" })).toEqual([
      { label: "repository argoproj/argo-events", owner: "argoproj", repo: "argo-events" },
    ]);
  });

  it("gitlab: groups, then projects (else the deprecated projectID); events to *_events flags", () => {
    expect(gitlabTargets({ groups: ["g"], projects: ["1", "a/b"], projectID: "9" })).toEqual([
      { label: "group g", type: "group", id: "g" },
      { label: "project 1", type: "project", id: "1" },
      { label: "project a/b", type: "project", id: "a/b" },
    ]);
    expect(gitlabTargets({ projectID: "9" })).toEqual([
      { label: "project 9", type: "project", id: "9" },
    ]);
    const flags = hookFlags(["MergeRequestsEvents", "SubGroupEvents", "ReleasesEvents"]);
    expect(flags).toMatchObject({
      merge_requests_events: true,
      subgroup_events: true,
      releases_events: true,
      push_events: false,
      tag_push_events: false,
      emoji_events: false,
    });
    // Argo sends only its 11 defaults as false; others only when named.
    expect(Object.keys(hookFlags([])).sort()).toHaveLength(11);
    expect(hookFlags([])).not.toHaveProperty("deployment_events");
  });
});
