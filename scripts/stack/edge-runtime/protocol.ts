// What the supervisor and its workers say to each other (see worker.ts).
/** Starts a worker's control line on stdout; never printed by function code (its logs are JSON). */
export const CONTROL_PREFIX = "\u001eedge-worker ";
