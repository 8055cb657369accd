import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { TokenVerifier } from "../auth/join-tokens.js";
import { iceServersFor } from "../auth/turn-credentials.js";
import type { Config } from "../config.js";
import type { JsonReply } from "./routes.js";

/**
 * TURN credentials handed to anyone (auth off: here and in `joined` and
 * `resumed`) last at most this long.
 * coturn checks a credential's expiry only when an allocation starts, so
 * a call outlives it; a leaked or scraped one stops being useful soon.
 */
export const OPEN_TURN_TTL_SECONDS = 300;

/**
 * `GET /api/ice-servers`: behind a valid join token when auth is on; open
 * (rate-limited per address by the caller, short-lived) when it is off.
 */
export async function iceServersReply(
  config: Config,
  verifier: TokenVerifier | null,
  token: string | undefined,
  logger: Logger,
): Promise<JsonReply> {
  // Without auth there is no user id: a random one keeps coturn's logs apart.
  let userId = `anon-${randomBytes(6).toString("hex")}`;
  if (verifier) {
    if (token === undefined) {
      return { status: 401, body: { error: "unauthorized", message: "a join token is required" } };
    }
    const verified = await verifier.verify(token);
    if (!verified.ok) {
      const status = verified.error.code === "internal" ? 503 : 401;
      if (status === 503) {
        // The token is never logged; the cause (a JWKS fetch failing) is.
        logger.error({ err: verified.cause }, "cannot verify a token for /api/ice-servers");
      }
      return { status, body: { error: verified.error.code, message: verified.error.message } };
    }
    userId = verified.identity.sub;
  }
  const turn = config.turnUrls.length > 0;
  const ttl = verifier
    ? config.turnTtlSeconds
    : Math.min(config.turnTtlSeconds, OPEN_TURN_TTL_SECONDS);
  return {
    status: 200,
    body: {
      iceServers: iceServersFor(config, userId, Date.now(), ttl),
      ...(turn ? { ttl } : {}),
    },
  };
}
