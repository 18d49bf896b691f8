import { startDatabase } from "./lib/database.ts";
const db = await startDatabase({ dataDir: process.argv[2] ?? ".data/dev", port: Number(process.argv[3] ?? 54322) });
console.log(db.url);
process.on("SIGINT", async () => { await db.stop(); process.exit(0); });
process.on("SIGTERM", async () => { await db.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
