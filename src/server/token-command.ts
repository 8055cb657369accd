import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ROLES, type Role } from "../protocol/index.js";
import { algorithmFor, SUPPORTED_KEYS } from "./auth/key-algorithm.js";
import { type MintOptions, mintJoinToken, type SigningKey } from "./auth/mint-token.js";
import { ConfigError } from "./config.js";

export const TOKEN_HELP = `Usage: signalroom token --room ROOM --sub USER [options]

Prints a join token (JWT) for development and scripts.

  --room ROOM          room id, or * for any room (required)
  --sub USER           user id, shown to the other members (required)
  --ttl SPAN           lifetime: 90s, 30m, 1h, 7d (default 1h)
  --role host|guest    room role (default guest); hosts may kick and lock
  --name NAME          display name
  --max-peers N        capacity of a room this token's holder creates
  --secret SECRET      HS256 secret (default: env AUTH_SECRET)
  --private-key FILE   PEM private key instead: RS256 (RSA) or ES256 (P-256)
  --issuer ISS         iss claim (default: env AUTH_ISSUER)
  --audience AUD       aud claim (default: env AUTH_AUDIENCE)
`;

/** `signalroom token ...`: returns the token, or throws a ConfigError. */
export async function tokenCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<string> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        room: { type: "string" },
        sub: { type: "string" },
        ttl: { type: "string" },
        role: { type: "string" },
        name: { type: "string" },
        "max-peers": { type: "string" },
        secret: { type: "string" },
        "private-key": { type: "string" },
        issuer: { type: "string" },
        audience: { type: "string" },
      },
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (!values.room?.trim()) throw new ConfigError("--room: required");
  if (!values.sub?.trim()) throw new ConfigError("--sub: required");
  if (values.role !== undefined && !(ROLES as readonly string[]).includes(values.role)) {
    throw new ConfigError(`--role: must be one of ${ROLES.join(", ")}`);
  }
  const ttl = values.ttl ?? "1h";
  if (
    !/^\d+\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)?$/i.test(
      ttl,
    )
  ) {
    throw new ConfigError("--ttl: must look like 90s, 30m, 1h or 7d");
  }
  let maxPeers: number | undefined;
  if (values["max-peers"] !== undefined) {
    // Digits only: Number() would also read "0x10", "1e1" and " ".
    maxPeers = /^\d+$/.test(values["max-peers"]) ? Number(values["max-peers"]) : Number.NaN;
    if (!Number.isInteger(maxPeers) || maxPeers < 2 || maxPeers > 1024) {
      throw new ConfigError("--max-peers: must be a whole number from 2 to 1024");
    }
  }
  let key: SigningKey;
  if (values["private-key"] !== undefined) {
    key = { privateKeyPem: readPrivateKey(values["private-key"]) };
  } else {
    const secret = values.secret ?? env.AUTH_SECRET;
    if (!secret)
      throw new ConfigError("--secret: required (or set AUTH_SECRET, or give --private-key)");
    if (secret.length < 32)
      throw new ConfigError("--secret / AUTH_SECRET: must be at least 32 characters");
    key = { secret };
  }
  const opts: MintOptions = {
    room: values.room.trim(),
    sub: values.sub.trim(),
    ttl: /^\d+$/.test(ttl) ? Number(ttl) : ttl,
    ...(values.role !== undefined ? { role: values.role as Role } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(maxPeers !== undefined ? { maxPeers } : {}),
    ...((values.issuer ?? env.AUTH_ISSUER) ? { issuer: values.issuer ?? env.AUTH_ISSUER } : {}),
    ...((values.audience ?? env.AUTH_AUDIENCE)
      ? { audience: values.audience ?? env.AUTH_AUDIENCE }
      : {}),
  };
  return mintJoinToken(key, opts);
}

/** The PEM at `path`, refused here (not as a crypto stack trace) unless it can sign a token. */
function readPrivateKey(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`--private-key: cannot read ${path} (${(error as Error).message})`);
  }
  let algorithm: string | null;
  try {
    algorithm = algorithmFor(createPrivateKey(pem));
  } catch {
    throw new ConfigError(`--private-key: ${path} holds no PEM private key`);
  }
  if (algorithm === null) throw new ConfigError(`--private-key: must be ${SUPPORTED_KEYS}`);
  return pem;
}
