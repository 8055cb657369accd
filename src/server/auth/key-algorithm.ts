import type { KeyObject } from "node:crypto";

/** What an asymmetric join-token key must be, for error messages. */
export const SUPPORTED_KEYS = "an RSA key of 2048 bits or more (RS256) or an EC P-256 key (ES256)";

/**
 * The JWS algorithm a public or private key signs with: RS256 for RSA of
 * at least 2048 bits, ES256 for EC P-256; null for any other key, which
 * jose would refuse on every token (so it is refused once, at start-up).
 */
export function algorithmFor(key: KeyObject): "RS256" | "ES256" | null {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "rsa" && (details?.modulusLength ?? 0) >= 2048) return "RS256";
  if (key.asymmetricKeyType === "ec" && details?.namedCurve === "prime256v1") return "ES256";
  return null;
}
