import { sourceFunction } from "../_shared/handlers/source-function.ts";
import { serveFunction } from "../_shared/platform/deno.ts";
import { bookingsJob } from "../_shared/sync/jobs.ts";

serveFunction("motopress-bookings", (deps) => sourceFunction("motopress-bookings", deps, bookingsJob));
