import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// No Docker engine on our machines: the Dockerfile is parsed and every stage, path and command it
// relies on is cross-checked against the repository (package.json scripts, tsconfig.build.json,
// bin/sensorbus.js, .dockerignore).

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (p: string) => readFileSync(`${ROOT}${p}`, "utf8");

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  base: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile -> ARGs before the first FROM, and stages (continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical: Array<{ text: string; line: number }> = [];
  let buf = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === "" && (line.trim() === "" || line.trim().startsWith("#"))) return;
    if (buf !== "" && line.trim().startsWith("#")) return;
    if (buf === "") start = i + 1;
    if (line.endsWith("\\")) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    logical.push({ text: (buf + line).trim(), line: start });
    buf = "";
  });
  expect(buf, "Dockerfile ends inside a line continuation").toBe("");
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const { text: l, line } of logical) {
    const m = /^(\w+)\s+(.*)$/s.exec(l);
    if (!m) throw new Error(`Dockerfile line ${line}: cannot parse '${l}'`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === "FROM") {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`Dockerfile line ${line}: bad FROM '${rest}'`);
      const base = f[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => {
        const v = args.get(a ?? b);
        if (v === undefined)
          throw new Error(`Dockerfile line ${line}: ARG ${a ?? b} has no default`);
        return v;
      });
      stages.push({ base, name: f[2], instructions: [] });
    } else if (stages.length === 0) {
      expect(op, `line ${line}: only ARG may precede the first FROM`).toBe("ARG");
      const [k, v] = rest.split("=");
      if (k && v !== undefined) args.set(k, v);
    } else {
      stages.at(-1)!.instructions.push({ op, args: rest, line });
    }
  }
  return { args, stages };
}

/** The exec (JSON array) form of ENTRYPOINT/CMD; the shell form would swallow SIGTERM. */
function execForm(ins: Instruction | undefined): string[] {
  expect(ins, "instruction present").toBeDefined();
  const parsed = JSON.parse(ins!.args) as unknown;
  expect(Array.isArray(parsed), `${ins!.op} must use the exec form`).toBe(true);
  return parsed as string[];
}

function ops(stage: Stage, op: string): Instruction[] {
  return stage.instructions.filter((i) => i.op === op);
}

/** COPY sources and destination, without flags. */
function copyParts(ins: Instruction): {
  from: string | undefined;
  sources: string[];
  dest: string;
} {
  const words = ins.args.split(/\s+/);
  const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
  const rest = words.filter((w) => !w.startsWith("--"));
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

/** .dockerignore patterns: exact paths, directory prefixes and `*` globs. */
function ignored(path: string, patterns: string[]): boolean {
  let out = false;
  for (const raw of patterns) {
    const neg = raw.startsWith("!");
    const p = (neg ? raw.slice(1) : raw).replace(/^\.?\//, "").replace(/\/$/, "");
    const re = new RegExp(
      `^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*")}(/.*)?$`,
    );
    if (re.test(path)) out = !neg;
  }
  return out;
}

const dockerfile = parseDockerfile(read("Dockerfile"));
const dockerignore = read(".dockerignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const pkg = JSON.parse(read("package.json")) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

describe("Dockerfile", () => {
  const { stages } = dockerfile;
  const build = stages[0]!;
  const runtime = stages.at(-1)!;

  it("is multi-stage on the official Node 20 slim or alpine image", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.base).toMatch(/^node:20(\.\d+)*-(slim|alpine)/);
    expect(build.name).toBeDefined();
  });

  it("builds with npm ci and the package's build script", () => {
    const runs = ops(build, "RUN").map((r) => r.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    const buildRun = runs.find((r) => /\bnpm run build\b/.test(r));
    expect(buildRun, "the build stage runs `npm run build`").toBeDefined();
    expect(pkg.scripts.build).toMatch(/tsc -p tsconfig\.build\.json/);
    // Everything tsc needs is copied into the build stage before it runs.
    const copied = ops(build, "COPY").flatMap((c) => copyParts(c).sources);
    for (const need of [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.build.json",
      "src",
    ]) {
      expect(copied, `build stage copies ${need}`).toContain(need);
    }
    // ... and every script the build script runs with node (e.g. the typebox bundling step).
    for (const m of (pkg.scripts.build ?? "").matchAll(/\bnode\s+(\S+)/g)) {
      const top = m[1]!.split("/")[0]!;
      expect(copied, `build stage copies ${top} (for ${m[1]})`).toContain(top);
    }
  });

  it("every COPY from the context exists and is not excluded by .dockerignore", () => {
    for (const s of stages) {
      for (const c of ops(s, "COPY")) {
        const { from, sources } = copyParts(c);
        if (from) continue;
        for (const src of sources) {
          expect(existsSync(`${ROOT}${src}`), `line ${c.line}: ${src} exists`).toBe(true);
          expect(ignored(src, dockerignore), `line ${c.line}: ${src} is in .dockerignore`).toBe(
            false,
          );
        }
      }
    }
  });

  it(".dockerignore keeps local dependencies, build output and git history out of the context", () => {
    for (const p of ["node_modules", "dist", ".git", "node_modules/x/y.js"]) {
      expect(ignored(p, dockerignore), p).toBe(true);
    }
  });

  it("the runtime stage has production dependencies only, without lifecycle scripts", () => {
    const runs = ops(runtime, "RUN").map((r) => r.args);
    const ci = runs.find((r) => /\bnpm ci\b/.test(r));
    expect(ci).toBeDefined();
    expect(ci).toMatch(/--omit=dev\b/);
    expect(ci).toMatch(/--ignore-scripts\b/);
    // No source, dev dependencies or compiler in the final image.
    for (const c of ops(runtime, "COPY")) {
      const { from, sources } = copyParts(c);
      if (from) {
        expect(from).toBe(build.name);
        for (const src of sources) expect(src).not.toMatch(/node_modules|\/src$/);
      } else {
        for (const src of sources) expect(["src", "test", "node_modules"]).not.toContain(src);
      }
    }
  });

  it("runs as a numeric non-root user (so Kubernetes can verify runAsNonRoot)", () => {
    const users = ops(runtime, "USER");
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(":")[0]!;
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    const entry = runtime.instructions.findIndex((i) => i.op === "ENTRYPOINT");
    const lastUser = runtime.instructions.lastIndexOf(users.at(-1)!);
    expect(lastUser).toBeLessThan(entry);
  });

  it("ENTRYPOINT runs bin/sensorbus.js where the stage puts it, and dist/ sits beside bin/", () => {
    const entry = execForm(ops(runtime, "ENTRYPOINT").at(-1));
    expect(entry).toEqual(["node", "/app/bin/sensorbus.js"]);
    expect(pkg.bin.sensorbus).toBe("bin/sensorbus.js");
    expect(ops(runtime, "WORKDIR").at(-1)?.args).toBe("/app");
    const copies = ops(runtime, "COPY").map(copyParts);
    const bin = copies.find((c) => c.sources.includes("bin"));
    expect(bin?.dest.replace(/^\.\//, "/app/").replace(/\/$/, "")).toBe("/app/bin");
    const dist = copies.find(
      (c) => c.from === build.name && c.sources.some((s) => s.endsWith("/dist")),
    );
    expect(dist?.dest.replace(/^\.\//, "/app/").replace(/\/$/, "")).toBe("/app/dist");
    // bin/sensorbus.js loads ../dist/cli.js; tsc writes src/cli.ts to dist/cli.js.
    expect(read("bin/sensorbus.js")).toContain('"../dist/cli.js"');
    const tsb = JSON.parse(read("tsconfig.build.json")) as { compilerOptions: { outDir: string } };
    expect(tsb.compilerOptions.outDir.replace(/^\.\//, "")).toBe("dist");
    // The build stage's WORKDIR is where dist/ is copied from.
    const buildDir = ops(build, "WORKDIR").at(-1)?.args;
    expect(dist?.sources).toContain(`${buildDir}/dist`);
  });

  it("CMD runs the mounted manifests and exposes the metrics and webhook ports", () => {
    const cmd = execForm(ops(runtime, "CMD").at(-1));
    expect(cmd[0]).toBe("run");
    expect(cmd[1]).toBe("/etc/sensorbus/manifests");
    // The metrics listener defaults to loopback; in a container it must be reachable by probes.
    expect(cmd[cmd.indexOf("--listen") + 1]).toBe("0.0.0.0");
    const exposed = ops(runtime, "EXPOSE").flatMap((e) => e.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining(["7777", "12000"]));
  });
});
