// Who is signed in, and the client that speaks for them. The console holds only the operator's
// own JWT (from the sign-in link's `#access_token=`, which is also how Supabase Auth's magic links
// come back) and, on a hosted project, the publishable key: never a secret or admin key.
import { createClient } from "@supabase/supabase-js";
import { createSyncClient, type SyncClient } from "../../shared/index.ts";

export interface ConsoleConfig {
  /** The project URL: functions are at <supabaseUrl>/functions/v1/<name>. */
  supabaseUrl: string;
  /** The project's publishable (anon) key, for email sign-in on a hosted project. */
  publishableKey?: string;
}

export interface Session {
  token: string;
  email: string | null;
  role: string | null;
  expiresAt: number | null;
}

const STORE = "motopress-sync.token";

export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const res = await fetch("./config.json", { cache: "no-store" });
    if (res.ok) {
      const cfg = await res.json() as ConsoleConfig;
      if (typeof cfg.supabaseUrl === "string" && cfg.supabaseUrl) return cfg;
    }
  } catch { /* no config.json: the local stack's default */ }
  return { supabaseUrl: "http://127.0.0.1:54321" };
}

/** The claims, for display only: the functions verify the signature, not the console. */
function decode(token: string): Record<string, unknown> | null {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return null;
  }
}

export function sessionFrom(token: string): Session | null {
  const c = decode(token);
  if (!c) return null;
  const meta = (c.app_metadata ?? {}) as Record<string, unknown>;
  return {
    token,
    email: typeof c.email === "string" ? c.email : null,
    role: typeof meta.sync_role === "string" ? meta.sync_role : null,
    expiresAt: typeof c.exp === "number" ? c.exp * 1000 : null,
  };
}

/** Takes a token from the URL (a sign-in link) into session storage and out of the address bar. */
export function captureToken(): void {
  const hash = location.hash.replace(/^#/, "");
  if (!hash.includes("access_token=")) return;
  const token = new URLSearchParams(hash).get("access_token");
  if (token) sessionStorage.setItem(STORE, token);
  history.replaceState(null, "", `${location.pathname}${location.search}#/runs`);
}

export function currentSession(): Session | null {
  const token = sessionStorage.getItem(STORE);
  return token ? sessionFrom(token) : null;
}

export function signOut(): void {
  sessionStorage.removeItem(STORE);
}

export function isExpired(s: Session, now = Date.now()): boolean {
  return s.expiresAt !== null && s.expiresAt <= now;
}

export function syncClient(cfg: ConsoleConfig): SyncClient {
  return createSyncClient({
    url: cfg.supabaseUrl,
    // supabase-js needs some key; without a publishable key this placeholder grants nothing.
    key: cfg.publishableKey ?? "no-publishable-key",
    accessToken: () => Promise.resolve(sessionStorage.getItem(STORE)),
  });
}

/** Hosted projects: Supabase Auth mails a sign-in link that returns here with #access_token=. */
export async function sendMagicLink(cfg: ConsoleConfig, email: string): Promise<void> {
  if (!cfg.publishableKey) throw new Error("Email sign-in needs publishableKey in config.json.");
  const auth = createClient(cfg.supabaseUrl, cfg.publishableKey, {
    auth: { flowType: "implicit", persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  }).auth;
  const { error } = await auth.signInWithOtp({
    email,
    options: { emailRedirectTo: `${location.origin}${location.pathname}`, shouldCreateUser: false },
  });
  if (error) throw new Error(error.message);
}
