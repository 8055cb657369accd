import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { createTokenVerifier, tokenAdmits } from "../../src/server/auth/join-tokens.js";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import { type Config, ConfigError, loadConfig } from "../../src/server/config.js";
import { startSignalroom } from "../../src/server/index.js";
import {
  HS_SECRET,
  keyPair,
  nowSeconds,
  secretKey,
  signWith,
  TempDir,
  validClaims,
} from "../helpers/tokens.js";

const config = (overrides: Partial<Config>): Config =>
  loadConfig({ overrides: { webRoot: "", logLevel: "silent", ...overrides } });

const pem = (key: KeyObject, type: "spki" | "pkcs8") =>
  key.export({ type, format: "pem" }).toString();

/** Keys jose cannot sign or verify join tokens with: refused at start-up, not at every join. */
function unsupportedKeys(): [string, { publicKey: KeyObject; privateKey: KeyObject }][] {
  return [
    ["EC P-384", generateKeyPairSync("ec", { namedCurve: "P-384" })],
    ["Ed25519", generateKeyPairSync("ed25519")],
    ["RSA 1024", generateKeyPairSync("rsa", { modulusLength: 1024 })],
  ];
}

describe("createTokenVerifier", () => {
  const dir = new TempDir();
  after(() => dir.remove());

  it("is null when auth is off", () => {
    assert.equal(createTokenVerifier(config({})), null);
  });

  it("turns claims into an identity: role defaults to guest, room is normalised", async () => {
    const verifier = createTokenVerifier(config({ authSecret: HS_SECRET }));
    assert.ok(verifier);
    const sign = (claims: Record<string, unknown>) =>
      signWith(secretKey(HS_SECRET), "HS256", claims);
    assert.deepEqual(await verifier.verify(await sign(validClaims(" r1 ", "alice"))), {
      ok: true,
      identity: { sub: "alice", name: undefined, role: "guest", room: "r1", maxPeers: undefined },
    });
    const full = await sign(
      validClaims("*", "bob", { role: "host", name: "Bob", maxPeers: 8, extra: "ignored" }),
    );
    assert.deepEqual(await verifier.verify(full), {
      ok: true,
      identity: { sub: "bob", name: "Bob", role: "host", room: "*", maxPeers: 8 },
    });
    assert.deepEqual(await verifier.verify(await sign(validClaims(7, "carol"))), {
      ok: true,
      identity: { sub: "carol", name: undefined, role: "guest", room: "7", maxPeers: undefined },
    });
  });

  it("reads RS256 and ES256 PEM keys, and the public half of a private key PEM", async () => {
    for (const type of ["rsa", "ec"] as const) {
      const keys = keyPair(type);
      const token = await mintJoinToken(
        { privateKeyPem: keys.privatePem },
        { room: "r", sub: type },
      );
      for (const file of [
        dir.write(`${type}-public.pem`, keys.publicPem),
        dir.write(`${type}-private.pem`, keys.privatePem),
      ]) {
        const verifier = createTokenVerifier(config({ authPublicKey: file }));
        const result = await verifier?.verify(token);
        assert.equal(result?.ok, true, `${type} ${file}`);
      }
    }
  });

  it("refuses an unsupported public key with a ConfigError at start-up", () => {
    for (const [name, keys] of unsupportedKeys()) {
      const file = dir.write(`${name.replace(/\W/g, "")}.pem`, pem(keys.publicKey, "spki"));
      assert.throws(
        () => createTokenVerifier(config({ authPublicKey: file })),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message ===
            "AUTH_PUBLIC_KEY / --auth-public-key: must be an RSA key of 2048 bits or more (RS256) or an EC P-256 key (ES256)",
        name,
      );
    }
  });

  it("refuses a file that holds no key with a ConfigError", () => {
    const file = dir.write(
      "not-a-key.pem",
      "-----BEGIN NOTHING-----\nabc\n-----END NOTHING-----\n",
    );
    assert.throws(
      () => createTokenVerifier(config({ authPublicKey: file })),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `AUTH_PUBLIC_KEY / --auth-public-key: ${file} holds no PEM key`,
    );
  });

  it("makes startSignalroom fail before it listens when the key is unsupported", async () => {
    const [, keys] = unsupportedKeys()[0] as [string, { publicKey: KeyObject }];
    const file = dir.write("start.pem", pem(keys.publicKey, "spki"));
    await assert.rejects(
      startSignalroom(config({ authPublicKey: file, port: 0, host: "127.0.0.1" })),
      ConfigError,
    );
  });

  it("never accepts HS256 from a JWKS URL (a public key set holds no secrets)", async () => {
    // The URL is never fetched: the algorithm is refused first.
    const verifier = createTokenVerifier(config({ authJwksUrl: "http://127.0.0.1:9/jwks.json" }));
    const token = await signWith(secretKey(HS_SECRET), "HS256", validClaims("r", "a"));
    assert.deepEqual(await verifier?.verify(token), {
      ok: false,
      error: { code: "unauthorized", message: "join token algorithm is not allowed" },
    });
  });
});

describe("tokenAdmits", () => {
  const identity = (room: string) => ({ sub: "u", role: "guest" as const, room });
  it("admits the token's own room, or any room for *", () => {
    assert.equal(tokenAdmits(identity("r1"), "r1"), true);
    assert.equal(tokenAdmits(identity("r1"), "r2"), false);
    assert.equal(tokenAdmits(identity("r1"), "R1"), false);
    assert.equal(tokenAdmits(identity("*"), "anything"), true);
  });
});

describe("mintJoinToken", () => {
  let rsa: ReturnType<typeof keyPair>;
  let ec: ReturnType<typeof keyPair>;
  before(() => {
    rsa = keyPair("rsa");
    ec = keyPair("ec");
  });

  it("signs HS256 with every claim given", async () => {
    const token = await mintJoinToken(
      { secret: HS_SECRET },
      {
        room: "r",
        sub: "alice",
        ttl: 90,
        role: "host",
        name: "Alice",
        maxPeers: 5,
        issuer: "iss",
        audience: "aud",
      },
    );
    assert.deepEqual(decodeProtectedHeader(token), { alg: "HS256", typ: "JWT" });
    const claims = decodeJwt(token);
    assert.ok(Math.abs(Number(claims.exp) - (nowSeconds() + 90)) <= 2);
    assert.ok(Math.abs(Number(claims.iat) - nowSeconds()) <= 2);
    assert.deepEqual(claims, {
      room: "r",
      sub: "alice",
      role: "host",
      name: "Alice",
      maxPeers: 5,
      iss: "iss",
      aud: "aud",
      iat: claims.iat,
      exp: claims.exp,
    });
  });

  it("signs RS256 with an RSA key and ES256 with a P-256 key; default ttl is an hour", async () => {
    for (const [keys, alg] of [
      [rsa, "RS256"],
      [ec, "ES256"],
    ] as const) {
      const token = await mintJoinToken(
        { privateKeyPem: keys.privatePem },
        { room: "r", sub: "u" },
      );
      assert.equal(decodeProtectedHeader(token).alg, alg);
      assert.ok(Math.abs(Number(decodeJwt(token).exp) - (nowSeconds() + 3600)) <= 2);
    }
  });

  it("refuses keys it cannot sign with, saying which keys work", async () => {
    for (const [name, keys] of unsupportedKeys()) {
      await assert.rejects(
        mintJoinToken({ privateKeyPem: pem(keys.privateKey, "pkcs8") }, { room: "r", sub: "u" }),
        {
          name: "TypeError",
          message:
            "the private key must be an RSA key of 2048 bits or more (RS256) or an EC P-256 key (ES256)",
        },
        name,
      );
    }
  });
});
