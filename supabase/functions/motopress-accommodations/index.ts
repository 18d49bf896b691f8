import { sourceFunction } from "../_shared/handlers/source-function.ts";
import { serveFunction } from "../_shared/platform/deno.ts";
import { accommodationsJob } from "../_shared/sync/jobs.ts";

serveFunction(
  "motopress-accommodations",
  (deps) => sourceFunction("motopress-accommodations", deps, accommodationsJob),
);
