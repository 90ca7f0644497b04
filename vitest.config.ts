import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    setupFiles: ["test/support/register-kinds.ts"],
    testTimeout: 20_000,
  },
});
