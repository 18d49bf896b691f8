import { commandCenter } from "../_shared/functions/command-center.ts";
import { serveFunction } from "../_shared/platform/deno.ts";

serveFunction("sync-command-center", (deps) => commandCenter(deps));
