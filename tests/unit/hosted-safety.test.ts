// The pieces of hosted safety that need no database: the outbound policy's address rules, the
// redaction patterns, the quarantine cap, the configuration's checks and the invoker's headers.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { httpInvoker } from "../../supabase/functions/_shared/invoke.ts";
import {
  isPublicAddress,
  OutboundPolicy,
  OutboundRefused,
} from "../../supabase/functions/_shared/net/outbound.ts";
import { redact, redactDeep, rememberCredentialPair } from "../../supabase/functions/_shared/redact.ts";
import {
  MAX_QUARANTINE_PAYLOAD_BYTES,
  quarantinePayload,
} from "../../supabase/functions/_shared/sync/quarantine-payload.ts";

describe("outbound policy", () => {
  it.each([
    ["8.8.8.8", true],
    ["1.1.1.1", true],
    ["2606:4700:4700::1111", true],
    ["93.184.216.34", true],
    ["127.0.0.1", false],
    ["127.8.9.10", false],
    ["10.0.0.1", false],
    ["172.16.0.1", false],
    ["172.31.255.255", false],
    ["172.32.0.1", true],
    ["192.168.1.1", false],
    ["169.254.169.254", false],
    ["100.64.0.1", false],
    ["0.0.0.0", false],
    ["224.0.0.1", false],
    ["255.255.255.255", false],
    ["198.18.0.1", false],
    ["::1", false],
    ["::", false],
    ["fe80::1", false],
    ["fd00::1", false],
    ["fc00::1", false],
    ["ff02::1", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:8.8.8.8", true],
    ["64:ff9b::a00:1", false],
    ["2002:a00:1::", false],
    ["2001:db8::1", false],
    ["not-an-ip", false],
    // IPv6 translation forms: judged by the IPv4 address they carry, or refused whole.
    ["::ffff:7f00:2", false], // IPv4-mapped 127.0.0.2, as URL parsing writes it
    ["::ffff:10.1.2.3", false],
    ["::ffff:0:7f00:1", false], // SIIT IPv4-translated 127.0.0.1
    ["::ffff:0:a9fe:a9fe", false], // 169.254.169.254
    ["::ffff:0:808:808", true],
    ["64:ff9b::7f00:1", false], // well-known NAT64 of 127.0.0.1
    ["64:ff9b::a9fe:a9fe", false],
    ["64:ff9b::808:808", true], // NAT64 of 8.8.8.8
    ["64:ff9b:1::808:808", false], // local-use NAT64: where it leads is the network's own
    ["64:ff9b:1:ffff::1", false],
    ["2001::1", false], // Teredo
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", false],
    ["2001:2::1", false], // benchmarking
    ["3fff::1", false], // documentation
    ["2001:4860:4860::8888", true], // an ordinary public 2001: address
  ])("%s is public: %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  const resolver = (table: Record<string, string[]>) => (host: string) => {
    if (!(host in table)) {
      return Promise.reject(Object.assign(new Error("no such host"), { name: "NotFound" }));
    }
    return Promise.resolve(table[host]);
  };
  const refusal = (p: Promise<void>) => p.then(() => null, (e: OutboundRefused) => e.reason);

  it("resolves names and refuses any private answer; listed names, addresses and CIDRs pass", async () => {
    const dns = resolver({
      "hotel.example": ["93.184.216.34"],
      "rebind.example": ["93.184.216.34", "10.0.0.5"],
      "internal.example": ["192.168.3.4"],
      "empty.example": [],
    });
    const policy = new OutboundPolicy(["127.0.0.1", "::1", "intranet.local", "10.9.0.0/16"], dns);
    expect(await refusal(policy.check("https://hotel.example/"))).toBeNull();
    expect(await refusal(policy.check("https://rebind.example/"))).toBe("private-address");
    expect(await refusal(policy.check("https://internal.example/"))).toBe("private-address");
    expect(await refusal(policy.check("https://empty.example/"))).toBe("unresolvable");
    expect(await refusal(policy.check("https://missing.example/"))).toBe("unresolvable");
    expect(await refusal(new OutboundPolicy([], dns).check("https://localhost:8080/"))).toBe(
      "private-address",
    );
    expect(await refusal(policy.check("http://hotel.example/"))).toBe("https-required");
    expect(await refusal(policy.check("ftp://hotel.example/"))).toBe("scheme");
    // Listed: plain http allowed, private addresses allowed.
    expect(await refusal(policy.check("http://127.0.0.1:5555/"))).toBeNull();
    expect(await refusal(policy.check("http://[::1]:5555/"))).toBeNull();
    expect(await refusal(policy.check("https://intranet.local/"))).toBeNull();
    expect(await refusal(policy.check("https://10.9.1.2/"))).toBeNull();
    expect(await refusal(policy.check("https://10.10.1.2/"))).toBe("private-address");
    // Nothing listed: even loopback is refused.
    expect(await refusal(new OutboundPolicy([], dns).check("http://127.0.0.1:5555/"))).toBe("https-required");
  });

  it("its messages name the host, never the URL's query", async () => {
    const policy = new OutboundPolicy([], resolver({}));
    const err = await policy.check("http://hotel.example/?consumer_secret=cs_abc").catch((e) => e as Error);
    expect(err?.message).toContain("hotel.example");
    expect(err?.message).not.toContain("cs_abc");
  });
});

describe("redaction", () => {
  it("removes credentials by their shape", () => {
    const text = [
      "GET https://h.example/wp-json/mphb/v1/bookings?per_page=100&consumer_key=ck_0123456789abcdef&consumer_secret=cs_0123456789abcdef",
      "Authorization: Basic Y2tfeDpjc195eXl5",
      "authorization: Bearer sb_secret_abcdefghijkl1234",
      "postgres://postgres.ref:hunter2hunter2@aws-0.pooler.supabase.com:6543/postgres",
      '{"apikey":"some-admin-key-123"}',
      "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXRleHQ",
    ].join("\n");
    const out = redact(text);
    for (
      const secret of [
        "ck_0123456789abcdef",
        "cs_0123456789abcdef",
        "Y2tfeDpjc195eXl5",
        "sb_secret_abcdefghijkl1234",
        "hunter2hunter2",
        "some-admin-key-123",
        "eyJhbGciOiJIUzI1NiJ9",
      ]
    ) {
      expect(out, secret).not.toContain(secret);
    }
    expect(out).toContain("consumer_secret=[REDACTED]");
    expect(out).toContain("aws-0.pooler.supabase.com:6543"); // what is not secret stays readable
  });

  it("removes known values in any form, everywhere in a value", () => {
    rememberCredentialPair("plain-key-4711", "plain-secret-4711");
    const basic = Buffer.from("plain-key-4711:plain-secret-4711").toString("base64");
    const value = redactDeep({
      message: `site said plain-secret-4711 and ${encodeURIComponent("plain-secret-4711")}`,
      nested: [{ header: basic }],
      n: 3,
    });
    expect(JSON.stringify(value)).not.toMatch(/plain-secret-4711|plain-key-4711/);
    expect(JSON.stringify(value)).not.toContain(basic);
    expect(value.n).toBe(3);
  });
});

describe("redaction removes secrets, not our words", () => {
  it("keeps help text and placeholders: `apikey: <key>`, `Bearer <jwt>`, by Basic auth", () => {
    const help = [
      "Missing admin key or operator token: send `apikey: <key>`, or sign in and send `Authorization: Bearer <jwt>`.",
      "The site does not accept this consumer key (401 mphb_rest_cannot_view by Basic auth and by query string).",
      "Or the server strips the Authorization header: try query-string keys.",
      "authorization: Bearer token, password: required.",
    ];
    for (const text of help) expect(redact(text)).toBe(text);
  });

  it("still removes every value that is a credential, beside those words", () => {
    const out = redact(
      "Authorization: Basic Y2tfeDpjc195eXl5 apikey: k3y-Value_42 Bearer abc.def.ghi-123 " +
        '{"password":"Hunter2hunter"} authorization: Bearer sb_secret_abcdefghijkl1234',
    );
    for (
      const secret of [
        "Y2tfeDpjc195eXl5",
        "k3y-Value_42",
        "abc.def.ghi-123",
        "Hunter2hunter",
        "abcdefghijkl1234",
      ]
    ) {
      expect(out, secret).not.toContain(secret);
    }
    expect(out).toContain("Authorization: Basic [REDACTED]");
  });
});

describe("quarantine payloads", () => {
  it("keeps a normal record whole and caps a huge one with a marked preview", () => {
    const small = { id: 1, title: "ok" };
    expect(quarantinePayload(small)).toBe(small);
    const huge = { id: 2, title: "x".repeat(MAX_QUARANTINE_PAYLOAD_BYTES * 4) };
    const capped = quarantinePayload(huge) as { truncated: boolean; bytes: number; preview: string };
    expect(capped.truncated).toBe(true);
    expect(capped.bytes).toBeGreaterThan(MAX_QUARANTINE_PAYLOAD_BYTES);
    expect(JSON.stringify(capped).length).toBeLessThan(MAX_QUARANTINE_PAYLOAD_BYTES);
  });
});

describe("configuration for a hosted project", () => {
  const base = { SUPABASE_DB_URL: "postgres://direct", SUPABASE_URL: "https://ref.supabase.co" };
  it("SYNC_DB_URL (the transaction pooler) wins over SUPABASE_DB_URL; a small pool by default", () => {
    expect(loadConfig(base).dbUrl).toBe("postgres://direct");
    expect(loadConfig({ ...base, SYNC_DB_URL: "postgres://pooler:6543" }).dbUrl).toBe(
      "postgres://pooler:6543",
    );
    expect(loadConfig({ SYNC_DB_URL: "postgres://pooler:6543", SUPABASE_URL: "https://r" }).dbUrl).toBe(
      "postgres://pooler:6543",
    );
    expect(loadConfig(base).dbPoolMax).toBe(2);
    expect(loadConfig({ ...base, SYNC_DB_POOL_MAX: "1" }).dbPoolMax).toBe(1);
  });

  it("a SYNC_ADMIN_KEY too short is an error at start, not a silent 401 on every continuation", () => {
    expect(() => loadConfig({ ...base, SYNC_ADMIN_KEY: "short" })).toThrow(
      /SYNC_ADMIN_KEY is too short \(5 characters\)/,
    );
    const ok = loadConfig({ ...base, SYNC_ADMIN_KEY: "k".repeat(16) });
    expect(ok.invokeKey).toBe("k".repeat(16));
    expect(ok.adminKeys).toContain(ok.invokeKey);
  });

  it("the key sent on continuations is always one the functions accept", () => {
    const c = loadConfig({ ...base, SUPABASE_SERVICE_ROLE_KEY: "s".repeat(40) });
    expect(c.invokeKey).toBe("s".repeat(40));
    expect(c.adminKeys).toContain(c.invokeKey);
  });

  it("every call the product makes sends the key as apikey and as the same Bearer", async () => {
    const config = loadConfig({ ...base, SYNC_ADMIN_KEY: "admin-key-0123456789" });
    const seen: Headers[] = [];
    const invoke = httpInvoker(config, (_url, init) => {
      seen.push(new Headers(init?.headers));
      return Promise.resolve(new Response("{}", { status: 202 }));
    });
    await invoke("motopress-bookings", { runId: crypto.randomUUID() });
    expect(seen[0].get("apikey")).toBe("admin-key-0123456789");
    expect(seen[0].get("authorization")).toBe("Bearer admin-key-0123456789");
  });

  it("a refused continuation's error carries no key", async () => {
    const config = loadConfig({ ...base, SYNC_ADMIN_KEY: "admin-key-0123456789" });
    const invoke = httpInvoker(
      config,
      () => Promise.resolve(new Response("bad key admin-key-0123456789", { status: 401 })),
    );
    const err = await invoke("motopress-bookings", {}).catch((e: Error) => e);
    expect(String(err)).toContain("401");
    expect(String(err)).not.toContain("admin-key-0123456789");
  });
});

describe("the MotoPress client's body cap and redirects", () => {
  it("stops reading a chunked answer at the cap, and follows only same-origin redirects", async () => {
    const { createServer } = await import("node:http");
    const { createMotoPressClient } = await import("../../supabase/functions/_shared/motopress/client.ts");
    const server = createServer((req, res) => {
      if (req.url?.includes("/accommodation_types")) {
        // No Content-Length: chunked, so only counting while reading can stop it.
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = JSON.stringify({ title: "x".repeat(4000) });
        res.write("[");
        for (let i = 0; i < 50; i++) res.write(`${i ? "," : ""}${chunk}`);
        res.end("]");
        return;
      }
      if (req.url?.includes("/accommodations/1")) {
        res.writeHead(301, { location: req.url.replace("/accommodations/1", "/accommodations/2") }).end();
        return;
      }
      if (req.url?.includes("/accommodations/2")) {
        res.writeHead(302, { location: `http://127.0.0.2:1${req.url}` }).end();
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const client = createMotoPressClient({
        siteUrl: `http://127.0.0.1:${port}`,
        consumerKey: "ck_x",
        consumerSecret: "cs_y",
        maxBodyBytes: 64 * 1024,
        maxRetries: 0,
      });
      const big = await (async () => {
        for await (const _ of client.accommodationTypes()) return null;
      })().catch((e) => e);
      expect(big.code).toBe("MOTOPRESS_RESPONSE_TOO_LARGE");
      const moved = await client.accommodation(1).catch((e) => e);
      expect(moved.code).toBe("MOTOPRESS_REDIRECT_REFUSED"); // the first hop was followed, the second refused
      expect(moved.message).toContain("to http://127.0.0.2:1");
    } finally {
      server.close();
    }
  });
  it("caps a compressed answer by the bytes it decodes to, not its Content-Length, and asks for none", async () => {
    const { createServer } = await import("node:http");
    const { gzipSync } = await import("node:zlib");
    const { createMotoPressClient } = await import("../../supabase/functions/_shared/motopress/client.ts");
    // 4 MB of JSON that gzip makes a few KB: a bomb in miniature, sent whatever the request asked.
    const bomb = gzipSync(`[${JSON.stringify({ id: 1, title: "x".repeat(4 * 1024 * 1024) })}]`);
    const asked: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      asked.push(req.headers["accept-encoding"]);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "content-length": String(bomb.length),
      });
      res.end(bomb);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(bomb.length).toBeLessThan(64 * 1024);
      const client = createMotoPressClient({
        siteUrl: `http://127.0.0.1:${port}`,
        consumerKey: "ck_x",
        consumerSecret: "cs_y",
        maxBodyBytes: 64 * 1024,
        maxRetries: 0,
      });
      const err = await (async () => {
        for await (const _ of client.accommodationTypes()) return null;
      })().catch((e) => e);
      expect(err?.code).toBe("MOTOPRESS_RESPONSE_TOO_LARGE");
      expect(asked[0]).toBe("identity");
    } finally {
      server.close();
    }
  });
});
