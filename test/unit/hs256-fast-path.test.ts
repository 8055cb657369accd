import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { SignJWT } from "jose";
import { createTokenVerifier, type TokenVerifier } from "../../src/server/auth/join-tokens.js";
import { type Config, loadConfig } from "../../src/server/config.js";
import {
  HS_SECRET,
  nowSeconds,
  OTHER_HS_SECRET,
  secretKey,
  signWith,
  unsecuredToken,
  validClaims,
} from "../helpers/tokens.js";

const config = (overrides: Partial<Config>): Config =>
  loadConfig({
    overrides: { webRoot: "", logLevel: "silent", authSecret: HS_SECRET, ...overrides },
  });

const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** A token signed with HS256 over exactly the header and payload texts given. */
function handMade(header: string, payload: string, secret = HS_SECRET): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  const signature = createHmac("sha256", secret).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

/** Valid tokens, and tokens that are wrong in every way we could think of. */
async function tokens(): Promise<[string, string][]> {
  const key = secretKey(HS_SECRET);
  const now = nowSeconds();
  const good = await signWith(key, "HS256", validClaims("room-1", "ann"));
  const [head, body, signature] = good.split(".") as [string, string, string];
  const flipped = `${signature.slice(0, -2)}${signature.at(-2) === "A" ? "B" : "A"}${signature.at(-1)}`;
  return [
    ["valid", good],
    [
      "valid, any room, host, name",
      await signWith(
        key,
        "HS256",
        validClaims("*", "bo", { role: "host", name: "Bo", maxPeers: 8 }),
      ),
    ],
    ["valid with a kid", await signWith(key, "HS256", validClaims("r", "cy"), "key-1")],
    ["expired", await signWith(key, "HS256", validClaims("r", "s", { exp: now - 3600 }))],
    [
      "expired within the tolerance",
      await signWith(key, "HS256", validClaims("r", "s", { exp: now - 2 })),
    ],
    ["not yet valid", await signWith(key, "HS256", validClaims("r", "s", { nbf: now + 3600 }))],
    ["no exp", await signWith(key, "HS256", { room: "r", sub: "s" })],
    ["no sub", await signWith(key, "HS256", { room: "r", exp: now + 60 })],
    [
      "sub not a string",
      await signWith(key, "HS256", { room: "r", sub: 7 as unknown as string, exp: now + 60 }),
    ],
    [
      "exp not a number",
      await signWith(key, "HS256", { room: "r", sub: "s", exp: "soon" as unknown as number }),
    ],
    ["bad role", await signWith(key, "HS256", validClaims("r", "s", { role: "admin" }))],
    ["wrong issuer", await signWith(key, "HS256", validClaims("r", "s", { iss: "other" }))],
    [
      "right issuer",
      await signWith(key, "HS256", validClaims("r", "s", { iss: "us", aud: "signalroom" })),
    ],
    [
      "right issuer, any room",
      await signWith(key, "HS256", validClaims("*", "t", { iss: "us", aud: ["x", "signalroom"] })),
    ],
    ["another secret", await signWith(secretKey(OTHER_HS_SECRET), "HS256", validClaims("r", "s"))],
    ["HS384", await signWith(key, "HS384", validClaims("r", "s"))],
    ["HS512", await signWith(key, "HS512", validClaims("r", "s"))],
    ["alg none", unsecuredToken(validClaims("r", "s"))],
    ["signature flipped", `${head}.${body}.${flipped}`],
    ["signature padded", `${head}.${body}.${signature}=`],
    ["signature with junk", `${head}.${body}.${signature.slice(0, 10)}$${signature.slice(10)}`],
    ["signature empty", `${head}.${body}.`],
    ["payload swapped", `${head}.${b64(JSON.stringify(validClaims("r", "mallory")))}.${signature}`],
    ["four parts", `${good}.x`],
    ["two parts", `${head}.${body}`],
    ["empty", ""],
    ["garbage", "not a token at all"],
    [
      "crit header",
      handMade('{"alg":"HS256","crit":["exp"]}', JSON.stringify(validClaims("r", "s"))),
    ],
    [
      "b64 false",
      handMade('{"alg":"HS256","b64":false,"crit":["b64"]}', JSON.stringify(validClaims("r", "s"))),
    ],
    [
      "b64 true without crit",
      handMade('{"alg":"HS256","b64":true}', JSON.stringify(validClaims("r", "s"))),
    ],
    ["header not JSON", handMade("{alg:HS256}", JSON.stringify(validClaims("r", "s")))],
    ["header an array", handMade('["HS256"]', JSON.stringify(validClaims("r", "s")))],
    ["payload not JSON", handMade('{"alg":"HS256"}', "{room:r}")],
    ["payload an array", handMade('{"alg":"HS256"}', "[1,2]")],
    ["payload null", handMade('{"alg":"HS256"}', "null")],
    [
      "duplicate alg",
      handMade('{"alg":"none","alg":"HS256"}', JSON.stringify(validClaims("r", "s"))),
    ],
    ["alg differs in case", handMade('{"alg":"hs256"}', JSON.stringify(validClaims("r", "s")))],
    [
      "huge claims",
      await new SignJWT({ ...validClaims("r", "s"), pad: "x".repeat(6000) })
        .setProtectedHeader({ alg: "HS256" })
        .sign(key),
    ],
  ];
}

async function verdict(verifier: TokenVerifier, token: string): Promise<unknown> {
  const result = await verifier.verify(token);
  return result.ok ? result : { ok: false, error: result.error };
}

describe("HS256 join tokens: the node:crypto fast path", () => {
  it("accepts a valid token without a WebCrypto call; a refused one goes to jose", async () => {
    const subtle = globalThis.crypto.subtle;
    const original = subtle.verify;
    let calls = 0;
    subtle.verify = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto["verify"]>) {
      calls++;
      return original.apply(this, args);
    } as SubtleCrypto["verify"];
    try {
      const fast = createTokenVerifier(config({})) as TokenVerifier;
      const jose = createTokenVerifier(config({}), { fastHs256: false }) as TokenVerifier;
      const token = await signWith(secretKey(HS_SECRET), "HS256", validClaims("r", "s"));
      assert.equal((await fast.verify(token)).ok, true);
      assert.equal(calls, 0, "the fast path called WebCrypto");
      assert.equal((await jose.verify(token)).ok, true);
      assert.equal(calls, 1);
      const forged = await signWith(secretKey(OTHER_HS_SECRET), "HS256", validClaims("r", "s"));
      assert.equal((await fast.verify(forged)).ok, false);
      assert.equal(calls, 2, "a bad signature is judged by jose");
    } finally {
      subtle.verify = original;
    }
  });

  for (const [name, overrides] of [
    ["defaults", {}],
    ["with issuer and audience", { authIssuer: "us", authAudience: "signalroom" }],
    ["with no clock tolerance", { authClockToleranceSeconds: 0 }],
  ] as const) {
    it(`gives exactly jose's verdict on valid and hostile tokens (${name})`, async () => {
      const fast = createTokenVerifier(config(overrides)) as TokenVerifier;
      const jose = createTokenVerifier(config(overrides), { fastHs256: false }) as TokenVerifier;
      let accepted = 0;
      for (const [what, token] of await tokens()) {
        const expected = await verdict(jose, token);
        assert.deepEqual(await verdict(fast, token), expected, what);
        if ((expected as { ok: boolean }).ok) accepted++;
      }
      // The cases cover both sides: some tokens pass, most do not.
      assert.ok(accepted >= 2, `only ${accepted} tokens were accepted`);
    });
  }
});
