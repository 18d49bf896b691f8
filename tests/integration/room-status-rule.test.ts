// The precedence table, row by row: the TypeScript statement (rooms/rule.ts) and the database's
// sync.derive_room_status agree on every combination of the four dimensions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deriveRoomStatus,
  type Dimensions,
  PRECEDENCE,
} from "../../supabase/functions/_shared/rooms/rule.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(2);
});
afterAll(async () => {
  await db?.drop();
});

const KEYS: (keyof Dimensions)[] = ["block", "inHouse", "dirty", "arrival"];
const combos: Dimensions[] = Array.from(
  { length: 16 },
  (_, mask) =>
    Object.fromEntries(
      KEYS.map((k, i) => [k, mask & (1 << i) ? `${k} reason` : null]),
    ) as unknown as Dimensions,
);

describe("room status precedence", () => {
  it("the table is out_of_service > occupied > dirty > reserved > available", () => {
    expect(PRECEDENCE.map((r) => r.status)).toEqual([
      "out_of_service",
      "occupied",
      "dirty",
      "reserved",
      "available",
    ]);
  });

  it.each(combos.map((d) => [KEYS.filter((k) => d[k]).join("+") || "nothing", d] as const))(
    "%s: SQL and TypeScript derive the same status and reason",
    async (_, d) => {
      const [row] = await db.sql`
        select (r).status, (r).reason from (select sync.derive_room_status(${d.block}, ${d.inHouse}, ${d.dirty}, ${d.arrival}) as r) x`;
      expect({ status: row.status, reason: row.reason }).toEqual(deriveRoomStatus(d));
    },
  );

  it("each row wins exactly when it is the highest dimension present", () => {
    for (const d of combos) {
      const first = PRECEDENCE.find((r) => r.when === null || d[r.when] !== null)!;
      expect(deriveRoomStatus(d).status).toBe(first.status);
    }
  });
});
