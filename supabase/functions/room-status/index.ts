import { roomStatusFunction } from "../_shared/handlers/room-status.ts";
import { serveFunction } from "../_shared/platform/deno.ts";

serveFunction("room-status", (deps) => roomStatusFunction(deps));
