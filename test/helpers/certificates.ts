import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const OPENSSL = "/usr/bin/openssl";

/**
 * A self-signed P-256 certificate for 127.0.0.1 and localhost, valid for a
 * day, and its key (PKCS#8 PEM), written to `dir` as `<name>-cert.pem` and
 * `<name>-key.pem`. Made by the real openssl (Node cannot issue X.509).
 */
export function selfSignedCertificate(
  dir: string,
  name = "localhost",
): { cert: string; key: string } {
  if (!existsSync(OPENSSL)) {
    assert.fail(`${OPENSSL} is missing: apt-get install -y openssl`);
  }
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync(
    OPENSSL,
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "pipe", timeout: 10_000 },
  );
  return { cert, key };
}
