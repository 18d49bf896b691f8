// The operator console: a static app (no CDN, no runtime fetches but the project's own API).
// `npm run console:build` writes console/dist; any static host can serve it with a config.json.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
    chunkSizeWarningLimit: 1000,
  },
});
