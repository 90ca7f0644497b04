import { defineConfig } from "vitest/config";

// Integration tests start real processes (nats-server, the Pub/Sub emulator) on ephemeral ports.
// One file at a time keeps a 2-core machine from timing out under load.
export default defineConfig({
  test: {
    include: ["test/integration/**/*.int.test.ts"],
    environment: "node",
    setupFiles: ["test/support/register-kinds.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
