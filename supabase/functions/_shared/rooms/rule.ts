// The room-status precedence table, stated in TypeScript. The database applies the same rule
// (sync.derive_room_status, migration *_room_status.sql); tests/integration/room-status-rule.test.ts
// checks every row of this table against it.

export const ROOM_STATUSES = ["out_of_service", "occupied", "dirty", "reserved", "available"] as const;
export type RoomStatus = (typeof ROOM_STATUSES)[number];

export const STAY_STATES = ["expected", "in_house", "departed", "cancelled"] as const;
export type StayState = (typeof STAY_STATES)[number];

export const HOUSEKEEPING = ["clean", "dirty", "inspected"] as const;
export type Housekeeping = (typeof HOUSEKEEPING)[number];

/** A unit's dimensions: each is absent (null) or a phrase saying why it holds. */
export interface Dimensions {
  /** An active block today. */
  block: string | null;
  /** A stay in house. */
  inHouse: string | null;
  /** The housekeeping condition is dirty (set, or a departure since it was last set). */
  dirty: string | null;
  /** An active stay arrives today and is not in house yet. */
  arrival: string | null;
}

/** Highest first: the first dimension present decides the status. */
export const PRECEDENCE: readonly { status: RoomStatus; when: keyof Dimensions | null; prefix: string }[] = [
  { status: "out_of_service", when: "block", prefix: "Out of service: " },
  { status: "occupied", when: "inHouse", prefix: "Occupied: " },
  { status: "dirty", when: "dirty", prefix: "Dirty: " },
  { status: "reserved", when: "arrival", prefix: "Reserved: " },
  { status: "available", when: null, prefix: "" },
];

export const AVAILABLE_REASON = "Available: no guest in house, no arrival today, clean.";

export function deriveRoomStatus(d: Dimensions): { status: RoomStatus; reason: string } {
  for (const row of PRECEDENCE) {
    if (row.when === null) return { status: row.status, reason: AVAILABLE_REASON };
    const why = d[row.when];
    if (why !== null) return { status: row.status, reason: row.prefix + why };
  }
  throw new Error("unreachable: the table ends with an unconditional row");
}

/** MotoPress statuses that hold the room (lock_room); others free it. */
export const ACTIVE_BOOKING_STATUSES = ["confirmed", "pending", "pending-user", "pending-payment"] as const;
