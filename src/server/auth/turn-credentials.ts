import { createHmac } from "node:crypto";
import type { IceServer } from "../../protocol/index.js";
import type { Config } from "../config.js";

/** A TURN credential by the TURN REST API convention (coturn `use-auth-secret`). */
export interface TurnCredential {
  /** `<unix expiry>:<user id>` */
  readonly username: string;
  /** base64(HMAC-SHA1(secret, username)) */
  readonly credential: string;
  /** Unix time in seconds after which coturn refuses it. */
  readonly expiresAt: number;
}

/**
 * Mints a credential exactly as coturn verifies it with `use-auth-secret`
 * and `static-auth-secret`: the username carries its own expiry, and the
 * password is the HMAC of the username under the shared secret.
 */
export function mintTurnCredential(
  secret: string,
  userId: string,
  ttlSeconds: number,
  nowMs: number = Date.now(),
): TurnCredential {
  const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiresAt}:${userId}`;
  const credential = createHmac("sha1", secret).update(username).digest("base64");
  return { username, credential, expiresAt };
}

/**
 * The ICE servers for one user: the STUN URLs, and the TURN URLs with a
 * fresh credential minted with the first secret (the others are accepted
 * by coturn during a rotation, never used to mint).
 */
export function iceServersFor(
  config: Config,
  userId: string,
  nowMs: number = Date.now(),
  ttlSeconds: number = config.turnTtlSeconds,
): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: config.stunUrls });
  const secret = config.turnSecrets[0];
  if (config.turnUrls.length > 0 && secret !== undefined) {
    const { username, credential } = mintTurnCredential(secret, userId, ttlSeconds, nowMs);
    servers.push({ urls: config.turnUrls, username, credential });
  }
  return servers;
}
