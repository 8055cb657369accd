import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, type JWK, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import { type MintOptions, mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Config } from "../../src/server/config.js";

/** An HS256 secret the test servers trust (AUTH_SECRET needs at least 32 characters). */
export const HS_SECRET = "signalroom-test-secret-0123456789abcdef";
/** A secret nobody trusts, for forged signatures. */
export const OTHER_HS_SECRET = "an-attacker-secret-0123456789abcdefgh";

/** Unix time in seconds, as JWT claims count it. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The claims of a valid join token for `room`, expiring in an hour. */
export function validClaims(
  room: string | number,
  sub: string,
  extra: JWTPayload = {},
): JWTPayload {
  return { room, sub, exp: nowSeconds() + 3600, ...extra };
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly privatePem: string;
  readonly publicPem: string;
}

/** A fresh RSA (RS256) or EC P-256 (ES256) key pair with PEM exports. */
export function keyPair(type: "rsa" | "ec"): KeyPair {
  const { privateKey, publicKey } =
    type === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** A private temporary folder; `remove` deletes it with everything in it. */
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), "signalroom-auth-"));

  /** Writes `text` to `name` in the folder; returns the file's path. */
  write(name: string, text: string): string {
    const file = join(this.path, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Signs `claims` as a JWS with `alg` (and `kid` in the header when given). */
export function signWith(
  key: KeyObject | Uint8Array,
  alg: string,
  claims: JWTPayload,
  kid?: string,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: "JWT", ...(kid !== undefined ? { kid } : {}) })
    .sign(key);
}

/** An unsigned token (`alg: none`) carrying `claims`. */
export function unsecuredToken(claims: JWTPayload): string {
  const jwt = new UnsecuredJWT(claims);
  if (typeof claims.exp === "number") jwt.setExpirationTime(claims.exp);
  return jwt.encode();
}

export const secretKey = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/** A tiny JWKS endpoint on 127.0.0.1 (jose fetches it for real). */
export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks.json` */
  readonly url: string;
  /** How many times the key set was fetched. */
  readonly fetches: () => number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  let fetches = 0;
  const body = JSON.stringify({ keys });
  const server = createServer((req, res) => {
    if (req.url !== "/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { "Content-Type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // jose's fetch keeps connections alive; cut them so close resolves.
        server.closeAllConnections();
      }),
  };
}

/** A public key as a JWKS member, with `kid`, `alg` and `use`. */
export async function publicJwk(publicKey: KeyObject, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
}

/**
 * One way the server verifies join tokens, as the tests drive it: the
 * config that turns it on, how to sign with the trusted key, and how to
 * sign with an untrusted one that looks the same (same alg, same kid).
 */
export interface AuthMode {
  readonly name: string;
  readonly overrides: Partial<Config>;
  /** A valid token for `room` (what a real backend would mint). */
  mint(opts: MintOptions): Promise<string>;
  /** Signs arbitrary claims with the trusted key. */
  sign(claims: JWTPayload): Promise<string>;
  /** Signs with a key the server does not trust. */
  forge(claims: JWTPayload): Promise<string>;
  /** Signs with an algorithm this mode does not allow (HS256 keyed with the public key PEM for the asymmetric modes: the classic confusion). */
  wrongAlgorithm(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

export function hs256Mode(): AuthMode {
  const rsa = keyPair("rsa");
  return {
    name: "HS256 secret",
    overrides: { authSecret: HS_SECRET },
    mint: (opts) => mintJoinToken({ secret: HS_SECRET }, opts),
    sign: (claims) => signWith(secretKey(HS_SECRET), "HS256", claims),
    forge: (claims) => signWith(secretKey(OTHER_HS_SECRET), "HS256", claims),
    wrongAlgorithm: (claims) => signWith(rsa.privateKey, "RS256", claims),
    close: async () => {},
  };
}

/** RS256 or ES256 with a PEM public key file in a temporary folder. */
export function pemMode(type: "rsa" | "ec"): AuthMode {
  const alg = type === "rsa" ? "RS256" : "ES256";
  const trusted = keyPair(type);
  const other = keyPair(type);
  const dir = new TempDir();
  const path = dir.write("public.pem", trusted.publicPem);
  return {
    name: `${alg} PEM public key`,
    overrides: { authPublicKey: path },
    mint: (opts) => mintJoinToken({ privateKeyPem: trusted.privatePem }, opts),
    sign: (claims) => signWith(trusted.privateKey, alg, claims),
    forge: (claims) => signWith(other.privateKey, alg, claims),
    wrongAlgorithm: (claims) => signWith(secretKey(trusted.publicPem), "HS256", claims),
    close: async () => dir.remove(),
  };
}

/** A JWKS URL publishing an ES256 key (`es-1`) and an RS256 key (`rs-1`); tokens use `es-1`. */
export async function jwksMode(): Promise<AuthMode & { readonly rsa: KeyPair; jwks: JwksServer }> {
  const ec = keyPair("ec");
  const rsa = keyPair("rsa");
  const other = keyPair("ec");
  const jwks = await startJwksServer([
    await publicJwk(ec.publicKey, "es-1", "ES256"),
    await publicJwk(rsa.publicKey, "rs-1", "RS256"),
  ]);
  const sign = (claims: JWTPayload) => signWith(ec.privateKey, "ES256", claims, "es-1");
  return {
    name: "JWKS URL",
    overrides: { authJwksUrl: jwks.url },
    rsa,
    jwks,
    mint: (opts) => sign(mintClaims(opts)),
    sign,
    forge: (claims) => signWith(other.privateKey, "ES256", claims, "es-1"),
    wrongAlgorithm: (claims) => signWith(secretKey(HS_SECRET), "HS256", claims, "es-1"),
    close: () => jwks.close(),
  };
}

/** The claims `mintJoinToken` would put in a token, for signers it does not cover. */
function mintClaims(opts: MintOptions): JWTPayload {
  const claims: JWTPayload = { room: opts.room, sub: opts.sub, iat: nowSeconds() };
  claims.exp = nowSeconds() + (typeof opts.ttl === "number" ? opts.ttl : 3600);
  if (opts.role !== undefined) claims.role = opts.role;
  if (opts.name !== undefined) claims.name = opts.name;
  if (opts.maxPeers !== undefined) claims.maxPeers = opts.maxPeers;
  if (opts.issuer !== undefined) claims.iss = opts.issuer;
  if (opts.audience !== undefined) claims.aud = opts.audience;
  return claims;
}
