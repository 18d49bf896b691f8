import { commandCenter } from "../_shared/handlers/command-center.ts";
import { serveFunction } from "../_shared/platform/deno.ts";

serveFunction("sync-command-center", (deps) => commandCenter(deps));
