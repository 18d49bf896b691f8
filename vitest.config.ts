import { defineConfig } from "vitest/config";

// Three projects: `unit` needs nothing but Node (no PostgreSQL, `npm run test:unit` in seconds);
// `db` (integration, e2e, reliability) and `browser` share one PostgreSQL started by the global set-up.
// `npm test` runs unit + db, then browser on its own: the browser tests stalled when they ran beside
// the platform-limits test on two cores.
const database = ["tests/setup/global-setup.ts"];

export default defineConfig({
  test: {
    pool: "forks",
    // Two cores: two test files at a time; each has its own database.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "unit", include: ["tests/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "db",
          include: ["tests/{integration,e2e,reliability}/**/*.test.ts"],
          globalSetup: database,
        },
      },
      { extends: true, test: { name: "browser", include: ["tests/browser/**/*.test.ts"], globalSetup: database } },
    ],
  },
});
