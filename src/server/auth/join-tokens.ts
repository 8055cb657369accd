import { createHmac, createPublicKey, type KeyObject, timingSafeEqual } from "node:crypto";
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTClaimVerificationOptions,
  type JWTVerifyGetKey,
  jwtVerify,
  UnsecuredJWT,
} from "jose";
import { z } from "zod";
import {
  ANY_ROOM,
  MAX_NAME_LENGTH,
  normalizeRoomId,
  type ProtocolError,
  protocolError,
  ROLES,
  type Role,
} from "../../protocol/index.js";
import { type Config, ConfigError, readOptionFile } from "../config.js";
import { algorithmFor, SUPPORTED_KEYS } from "./key-algorithm.js";

export type { Role };

/** Who a verified token says its holder is, and what it may do. */
export interface Identity {
  /** The user id (`sub`); shown to the other members. */
  readonly sub: string;
  readonly name?: string | undefined;
  readonly role: Role;
  /** The room the token is for, or `*` for any. */
  readonly room: string;
  /** Capacity of a room this token's holder creates. */
  readonly maxPeers?: number | undefined;
}

export type VerifyResult =
  | { ok: true; identity: Identity }
  /** `cause`: for `internal` errors, what went wrong, for the operator's log (never the token). */
  | { ok: false; error: ProtocolError; cause?: unknown };

export interface TokenVerifier {
  verify(token: string): Promise<VerifyResult>;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(256),
  room: z.union([z.string(), z.number()]),
  name: z.string().max(MAX_NAME_LENGTH).optional(),
  role: z.enum(ROLES).optional(),
  maxPeers: z.number().int().min(2).max(1024).optional(),
});

/** Whether a token for `identity.room` admits its holder to `roomId`. */
export function tokenAdmits(identity: Identity, roomId: string): boolean {
  return identity.room === ANY_ROOM || identity.room === roomId;
}

/**
 * Builds the verifier for the configured key: an HS256 secret, a PEM public
 * key (RS256 or ES256, told by the key), or a JWKS URL. Returns null when
 * auth is off. Reading a bad key file fails here, at start-up.
 */
export function createTokenVerifier(
  config: Config,
  // Off only in the test that checks the fast path against jose alone.
  opts: { readonly fastHs256?: boolean } = {},
): TokenVerifier | null {
  let key: Promise<CryptoKey> | KeyObject | JWTVerifyGetKey;
  let hs256: ((token: string, options: JWTClaimVerificationOptions) => unknown) | null = null;
  let algorithms: string[];
  if (config.authSecret !== undefined) {
    // Imported once: handed the raw secret, jose imports it into WebCrypto
    // on every verify, which was most of what a join cost.
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(config.authSecret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    algorithms = ["HS256"];
    if (opts.fastHs256 !== false) hs256 = hs256Verifier(config.authSecret);
  } else if (config.authPublicKey !== undefined) {
    const publicKey = readPublicKey(config.authPublicKey);
    const algorithm = algorithmFor(publicKey);
    if (algorithm === null) {
      throw new ConfigError(`AUTH_PUBLIC_KEY / --auth-public-key: must be ${SUPPORTED_KEYS}`);
    }
    key = publicKey;
    algorithms = [algorithm];
  } else if (config.authJwksUrl !== undefined) {
    key = createRemoteJWKSet(new URL(config.authJwksUrl), { timeoutDuration: 5000 });
    // jose never takes a secret (HS*) key from a key set, so offering HS256
    // here only turned "algorithm not allowed" into "malformed".
    algorithms = ["RS256", "ES256"];
  } else {
    return null;
  }
  const remote = config.authJwksUrl !== undefined;
  const options = {
    algorithms,
    clockTolerance: config.authClockToleranceSeconds,
    requiredClaims: ["sub", "exp"],
    ...(config.authIssuer ? { issuer: config.authIssuer } : {}),
    ...(config.authAudience ? { audience: config.authAudience } : {}),
  };

  return {
    async verify(token: string): Promise<VerifyResult> {
      let payload: unknown;
      try {
        payload = hs256?.(token, options);
        if (payload === undefined) {
          const k = key instanceof Promise ? await key : key;
          // jose overloads differ for keys and key getters; both are accepted at runtime.
          ({ payload } = await jwtVerify(token, k as CryptoKey, options));
        }
      } catch (error) {
        const described = describeJoseError(error, remote);
        return described.code === "internal"
          ? { ok: false, error: described, cause: error }
          : { ok: false, error: described };
      }
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) {
        const field = claims.error.issues[0]?.path.join(".") || "claims";
        return {
          ok: false,
          error: protocolError("unauthorized", `join token claim ${field} is invalid`),
        };
      }
      // Only the exact claim "*" is the wildcard; any other value must be a
      // valid room id (and "*" is never one, however it is padded).
      const wildcard = claims.data.room === ANY_ROOM;
      const room = wildcard ? null : normalizeRoomId(claims.data.room);
      if (room !== null && !room.ok) {
        return {
          ok: false,
          error: protocolError("unauthorized", "join token claim room is invalid"),
        };
      }
      return {
        ok: true,
        identity: {
          sub: claims.data.sub,
          name: claims.data.name,
          role: claims.data.role ?? "guest",
          room: room === null ? ANY_ROOM : room.roomId,
          maxPeers: claims.data.maxPeers,
        },
      };
    },
  };
}

/** The protected header of the unsecured copy a verified HS256 token's claims are checked in. */
const NONE_HEADER = Buffer.from('{"alg":"none"}').toString("base64url");

/**
 * The common case of HS256, checked without WebCrypto. jose verifies
 * HMACs only through WebCrypto, whose every call is a job on the thread
 * pool: a join storm spent more on that than on everything else a join
 * does. Here the signature of a plain token (header with `alg` HS256 and
 * no `crit` or `b64`, signature in canonical base64url) is checked with
 * node:crypto's HMAC, and its claims are then checked by jose itself, in an
 * unsecured copy of the token (`UnsecuredJWT.decode` runs the same claim
 * checks, with the same errors, as `jwtVerify`). It only ever accepts:
 * anything else (a bad signature, another algorithm, an odd header, a
 * malformed token) returns undefined and goes to `jwtVerify`, so every
 * refusal and its message are jose's.
 */
function hs256Verifier(
  secret: string,
): (token: string, options: JWTClaimVerificationOptions) => unknown {
  const key = Buffer.from(secret, "utf8");
  return (token, options) => {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (header.alg !== "HS256" || "crit" in header || "b64" in header) return undefined;
    const given = Buffer.from(signature, "base64url");
    if (given.toString("base64url") !== signature) return undefined;
    const expected = createHmac("sha256", key).update(`${head}.${body}`).digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    // Authentic: its claims are jose's to judge (an expired token throws here).
    return UnsecuredJWT.decode(`${NONE_HEADER}.${body}.`, options).payload;
  };
}

/** Reads a PEM public key (a private key also works: its public half is used). */
function readPublicKey(path: string): KeyObject {
  const pem = readOptionFile("AUTH_PUBLIC_KEY / --auth-public-key", path);
  try {
    return createPublicKey(pem);
  } catch {
    throw new ConfigError(`AUTH_PUBLIC_KEY / --auth-public-key: ${path} holds no PEM key`);
  }
}

/** `remote`: keys come from a JWKS URL, so a non-jose failure is the fetch (fetch throws a bare TypeError). */
function describeJoseError(error: unknown, remote: boolean): ProtocolError {
  if (error instanceof errors.JWTExpired)
    return protocolError("unauthorized", "join token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return protocolError("unauthorized", "join token is not yet valid");
    return protocolError("unauthorized", `join token claim ${error.claim} is invalid`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return protocolError("unauthorized", "join token signature is invalid");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return protocolError("unauthorized", "join token algorithm is not allowed");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return protocolError("unauthorized", "join token was signed with an unknown key");
  }
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    (remote && !(error instanceof errors.JOSEError))
  ) {
    return protocolError("internal", "cannot fetch the keys to verify the join token");
  }
  if (error instanceof errors.JOSEError)
    return protocolError("unauthorized", "join token is malformed");
  return protocolError("internal", "cannot verify the join token");
}
