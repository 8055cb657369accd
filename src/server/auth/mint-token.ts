import { createPrivateKey, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import type { Role } from "../../protocol/index.js";
import { algorithmFor, SUPPORTED_KEYS } from "./key-algorithm.js";

export interface MintOptions {
  /** A room id, or `*` for any room. */
  readonly room: string;
  readonly sub: string;
  /** A jose time span (`90s`, `30m`, `1h`, `7d`) or seconds. Default `1h`. */
  readonly ttl?: string | number;
  readonly role?: Role;
  readonly name?: string;
  readonly maxPeers?: number;
  readonly issuer?: string;
  readonly audience?: string;
}

/** What signs: an HS256 secret, or a PEM private key (RS256 for RSA, ES256 for P-256). */
export type SigningKey = { readonly secret: string } | { readonly privateKeyPem: string };

/**
 * Mints a join token, for development and scripts (`signalroom token`). A
 * production system mints them in its own backend with any JWT library:
 * the claims are `sub`, `room`, `exp` and optionally `name`, `role`,
 * `maxPeers`.
 */
export async function mintJoinToken(key: SigningKey, opts: MintOptions): Promise<string> {
  let signingKey: Uint8Array | KeyObject;
  let alg: string;
  if ("secret" in key) {
    signingKey = new TextEncoder().encode(key.secret);
    alg = "HS256";
  } else {
    const privateKey = createPrivateKey(key.privateKeyPem);
    const algorithm = algorithmFor(privateKey);
    if (algorithm === null) throw new TypeError(`the private key must be ${SUPPORTED_KEYS}`);
    signingKey = privateKey;
    alg = algorithm;
  }
  const claims: Record<string, unknown> = { room: opts.room };
  if (opts.role !== undefined) claims.role = opts.role;
  if (opts.name !== undefined) claims.name = opts.name;
  if (opts.maxPeers !== undefined) claims.maxPeers = opts.maxPeers;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, typ: "JWT" })
    .setSubject(opts.sub)
    .setIssuedAt()
    .setExpirationTime(
      typeof opts.ttl === "number" ? Math.floor(Date.now() / 1000) + opts.ttl : (opts.ttl ?? "1h"),
    );
  if (opts.issuer !== undefined) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience !== undefined) jwt = jwt.setAudience(opts.audience);
  return jwt.sign(signingKey);
}
