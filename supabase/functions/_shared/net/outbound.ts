// Which URLs the functions may fetch (contract §4, SYNC_ALLOW_PRIVATE_HOSTS). A tenant's site URL
// is data an operator typed, and a site can redirect anywhere: without this, a sync could be
// pointed at the database's network, the cloud metadata service or a loopback admin port, and
// carry the tenant's keys there.
//
//   * https only, except to a host the allow-list names (the local simulator is plain http);
//   * every address the host resolves to must be public, unless the host name, the address or a
//     CIDR containing it is listed: loopback, private, link-local, CGNAT, multicast, reserved and
//     documentation ranges, and IPv6 forms that embed such an IPv4 address, are refused.
//
// Limit: the check resolves the name, then fetch resolves it again, so a DNS answer that changes
// in between (rebinding) is not caught; the platform gives no way to pin the address.

/**
 * A and AAAA records of a host name (the platform adapter resolves them); `null` when the runtime
 * offers no DNS lookup at all, in which case only address literals and `localhost` are checked.
 */
export type Resolver = (host: string) => Promise<string[] | null>;

export type RefusalReason = "scheme" | "https-required" | "private-address" | "unresolvable" | "invalid-url";

export class OutboundRefused extends Error {
  override name = "OutboundRefused";
  constructor(readonly reason: RefusalReason, message: string) {
    super(message);
  }
}

type Family = 4 | 6;
interface Addr {
  family: Family;
  value: bigint;
}
interface Cidr extends Addr {
  bits: number;
}

export function parseIPv4(text: string): bigint | null {
  const m = text.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (!m) return null;
  let v = 0n;
  for (const part of m.slice(1)) {
    const n = Number(part);
    if (n > 255 || (part.length > 1 && part.startsWith("0"))) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

export function parseIPv6(text: string): bigint | null {
  let s = text.replace(/^\[|\]$/g, "");
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!/^[0-9a-f:.]+$/i.test(s) || !s.includes(":")) return null;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIPv4(tail);
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 ? (halves[1] ? halves[1].split(":") : []) : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

export function parseAddress(text: string): Addr | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 === null) return null;
  // IPv4-mapped (::ffff:a.b.c.d): the same host as its IPv4 address.
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

function parseCidr(text: string): Cidr | null {
  const [addrText, bitsText, extra] = text.split("/");
  if (extra !== undefined) return null;
  const addr = parseAddress(addrText);
  if (!addr) return null;
  const max = addr.family === 4 ? 32 : 128;
  // A mapped address written with an IPv6 prefix length counts its bits from the IPv4 part.
  let bits = bitsText === undefined ? max : Number(bitsText);
  if (addr.family === 4 && parseIPv6(addrText) !== null && bitsText !== undefined) bits -= 96;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { ...addr, bits };
}

function inCidr(a: Addr, c: Cidr): boolean {
  if (a.family !== c.family) return false;
  const width = a.family === 4 ? 32n : 128n;
  const shift = width - BigInt(c.bits);
  return a.value >> shift === c.value >> shift;
}

const ranges = (family: Family, list: string[]): Cidr[] =>
  list.map((t) => {
    const c = parseCidr(t);
    if (!c || c.family !== family) throw new Error(`bad built-in range ${t}`);
    return c;
  });

// Not reachable on the public internet, or not meant to be (RFC 6890 and friends).
const NON_PUBLIC_V4 = ranges(4, [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
]);
// Translation and tunnel forms whose IPv4 end cannot be judged from the address are refused
// whole: local-use NAT64 (its prefix's operator decides where the embedded bits go) and Teredo
// (its client address is obfuscated, and its relay reaches anything).
const NON_PUBLIC_V6 = ranges(6, [
  "::/128",
  "::1/128",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/32",
  "2001:2::/48",
  "2001:10::/28",
  "2001:db8::/32",
  "3fff::/20",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
]);

/**
 * The IPv4 address an IPv6 transition form carries, judged as that address: well-known NAT64
 * (64:ff9b::/96), SIIT's IPv4-translated (::ffff:0:0:0/96), 6to4 and IPv4-compatible. (IPv4-mapped,
 * ::ffff:0:0/96, is parsed as its IPv4 address in the first place.)
 */
function embeddedV4(a: Addr): Addr | null {
  if (a.family !== 6) return null;
  if (a.value >> 32n === 0x64ff9bn << 64n) return { family: 4, value: a.value & 0xffffffffn }; // 64:ff9b::/96
  if (a.value >> 32n === 0xffff0000n) return { family: 4, value: a.value & 0xffffffffn }; // ::ffff:0:a.b.c.d
  if (a.value >> 112n === 0x2002n) return { family: 4, value: (a.value >> 80n) & 0xffffffffn }; // 2002::/16
  if (a.value >> 32n === 0n) return { family: 4, value: a.value }; // ::a.b.c.d (deprecated)
  return null;
}

export function isPublicAddress(text: string): boolean {
  const a = parseAddress(text);
  if (!a) return false;
  const v4 = a.family === 4 ? a : embeddedV4(a);
  if (v4 && NON_PUBLIC_V4.some((c) => inCidr(v4, c))) return false;
  if (a.family === 6 && NON_PUBLIC_V6.some((c) => inCidr(a, c))) return false;
  return true;
}

export class OutboundPolicy {
  private readonly names = new Set<string>();
  private readonly cidrs: Cidr[] = [];

  /** `allow`: SYNC_ALLOW_PRIVATE_HOSTS entries (host names, addresses, CIDRs). */
  constructor(allow: readonly string[], private readonly resolve: Resolver) {
    for (const entry of allow) {
      const e = entry.trim().toLowerCase().replace(/^\[|\]$/g, "");
      if (!e) continue;
      const cidr = parseCidr(e);
      if (cidr) this.cidrs.push(cidr);
      else this.names.add(e.replace(/\.$/, ""));
    }
  }

  private listedAddress(text: string): boolean {
    const a = parseAddress(text);
    return !!a && this.cidrs.some((c) => inCidr(a, c));
  }

  /** Is `host` (a name or an address) named by the allow-list? */
  isListed(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
    return this.names.has(h) || this.listedAddress(h);
  }

  /**
   * Resolves and checks `url`; throws OutboundRefused with a sentence an operator can act on.
   * The sentence names the host, never the URL (which may carry credentials).
   */
  async check(url: URL | string): Promise<void> {
    let u: URL;
    try {
      u = typeof url === "string" ? new URL(url) : url;
    } catch {
      throw new OutboundRefused("invalid-url", "The site URL is not a valid URL.");
    }
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
    if (u.protocol !== "https:" && u.protocol !== "http:") {
      throw new OutboundRefused(
        "scheme",
        `Only https:// site URLs are supported (got ${u.protocol}//${host}).`,
      );
    }
    const listed = this.isListed(host);
    if (u.protocol === "http:" && !listed) {
      throw new OutboundRefused(
        "https-required",
        `The site URL for ${host} uses plain http://, which would send the API keys unencrypted (and MotoPress ` +
          "ignores keys over plain HTTP anyway). Use the site's https:// URL.",
      );
    }
    if (listed) return;
    let addresses: string[];
    if (parseAddress(host)) addresses = [host];
    else if (host === "localhost" || host.endsWith(".localhost")) addresses = ["127.0.0.1"];
    else {
      try {
        const resolved = await this.resolve(host);
        if (resolved === null) return; // no DNS API on this runtime: the name itself passed
        addresses = resolved;
      } catch (err) {
        throw new OutboundRefused(
          "unresolvable",
          `Could not resolve the site's host ${host} (${(err as Error)?.name ?? "DNS error"}).`,
        );
      }
      if (addresses.length === 0) {
        throw new OutboundRefused(
          "unresolvable",
          `The site's host ${host} has no A or AAAA record: check the site URL.`,
        );
      }
    }
    const blocked = addresses.filter((a) => !isPublicAddress(a) && !this.listedAddress(a));
    if (blocked.length) {
      throw new OutboundRefused(
        "private-address",
        `The site's host ${host} resolves to a private, loopback or reserved address (${
          blocked.join(", ")
        }); ` +
          "requests there are refused. Use the site's public URL, or list the host in SYNC_ALLOW_PRIVATE_HOSTS.",
      );
    }
  }
}
