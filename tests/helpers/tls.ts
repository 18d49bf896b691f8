// Certificates for real TLS in tests, made with the openssl CLI: a test CA (given to Deno through
// DENO_CERT, to Node through the connect options), a leaf for 127.0.0.1 it signed, a leaf it signed
// for another host name, and a self-signed leaf nobody trusts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TestCerts {
  dir: string;
  caFile: string;
  ca: string;
  trusted: { key: string; cert: string };
  wrongName: { key: string; cert: string };
  selfSigned: { key: string; cert: string };
}

let cached: TestCerts | null = null;

export function testCerts(): TestCerts {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), "mp-tls-"));
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ext = (name: string, text: string) => {
    writeFileSync(f(name), text);
    return f(name);
  };
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "30",
    "-subj",
    "/CN=motopress-sync test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  const leaf = (name: string, san: string) => {
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      f(`${name}.key`),
      "-out",
      f(`${name}.csr`),
      "-subj",
      `/CN=${name}`,
    );
    ssl(
      "x509",
      "-req",
      "-in",
      f(`${name}.csr`),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-out",
      f(`${name}.pem`),
      "-days",
      "30",
      "-extfile",
      ext(`${name}.ext`, `basicConstraints=CA:FALSE\nsubjectAltName=${san}\nextendedKeyUsage=serverAuth\n`),
    );
    return { key: readFileSync(f(`${name}.key`), "utf8"), cert: readFileSync(f(`${name}.pem`), "utf8") };
  };
  const trusted = leaf("trusted", "IP:127.0.0.1");
  const wrongName = leaf("wrong-name", "DNS:hotel.example");
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("self.key"),
    "-out",
    f("self.pem"),
    "-days",
    "30",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-addext",
    "basicConstraints=CA:FALSE",
  );
  cached = {
    dir,
    caFile: f("ca.pem"),
    ca: readFileSync(f("ca.pem"), "utf8"),
    trusted,
    wrongName,
    selfSigned: { key: readFileSync(f("self.key"), "utf8"), cert: readFileSync(f("self.pem"), "utf8") },
  };
  return cached;
}
