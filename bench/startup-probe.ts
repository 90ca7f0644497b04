/**
 * Loaded with `node --import` into each process the start-up section of `npm run bench` measures:
 * at exit it writes the process's CPU time (user + system, all threads, µs) to
 * $SB_BENCH_CPU_FILE, the in-process equivalent of /usr/bin/time's user+sys.
 */
import { writeFileSync } from "node:fs";

const file = process.env.SB_BENCH_CPU_FILE;
if (file) {
  process.once("exit", () => {
    const u = process.cpuUsage();
    writeFileSync(file, String(u.user + u.system));
  });
}
