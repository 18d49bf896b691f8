import { sourceFunction } from "../_shared/functions/source-function.ts";
import { serveFunction } from "../_shared/platform/deno.ts";
import { accommodationsJob } from "../_shared/sync/jobs.ts";

serveFunction("motopress-accommodations", (deps) => sourceFunction("motopress-accommodations", deps, accommodationsJob));
