import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Logger } from "pino";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Config } from "../../src/server/config.js";
import { captureLogs } from "../helpers/logs.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import {
  HS_SECRET,
  keyPair,
  nowSeconds,
  OTHER_HS_SECRET,
  secretKey,
  signWith,
  startJwksServer,
  validClaims,
} from "../helpers/tokens.js";

/** No line holds any token whole, nor its signature (the part that makes it usable). */
function assertNoTokens(lines: readonly string[], tokens: readonly string[]): void {
  assert.ok(lines.length > 0, "the logger captured something");
  for (const token of tokens) {
    const signature = token.split(".")[2] ?? token;
    assert.ok(signature.length >= 20, "a real signature to look for");
    for (const line of lines) {
      assert.ok(!line.includes(token), `a log line holds a token: ${line}`);
      assert.ok(!line.includes(signature), `a log line holds a token signature: ${line}`);
    }
  }
}

describe("join tokens never reach the logs", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (overrides: Partial<Config>, logger: Logger) => {
    server = await startTestServer({ ...BULK_LIMITS, ...overrides }, { logger });
    return server;
  };

  it("not for good or bad tokens, in join.token, on ?token=, or on the HTTP endpoint", async () => {
    const { lines, logger } = captureLogs("trace");
    const s = await start({ authSecret: HS_SECRET, maxMessageBytes: 1024 }, logger);
    const good = await mintJoinToken({ secret: HS_SECRET }, { room: "r", sub: "alice" });
    const urlGood = await mintJoinToken({ secret: HS_SECRET }, { room: "r", sub: "bob" });
    const forged = await signWith(secretKey(OTHER_HS_SECRET), "HS256", validClaims("r", "eve"));
    const expired = await signWith(
      secretKey(HS_SECRET),
      "HS256",
      validClaims("r", "old", { exp: nowSeconds() - 3600 }),
    );
    const otherRoom = await mintJoinToken({ secret: HS_SECRET }, { room: "elsewhere", sub: "x" });

    const a = await s.connect();
    await a.join("r", { token: good });
    const b = await s.connect(`/ws?token=${urlGood}`);
    await b.join("r");
    for (const token of [forged, expired, otherRoom]) {
      const inJoin = await s.connect();
      inJoin.send({ type: "join", roomId: "r", token });
      await inJoin.next("error");
      const onUrl = await s.connect(`/ws?token=${token}`);
      onUrl.send({ type: "join", roomId: "r" });
      await onUrl.next("error");
    }
    // A socket with a token on its URL that breaks the rules and is closed (1009).
    const oversize = await s.connect(`/ws?token=${forged}`);
    oversize.sendRaw("x".repeat(2048), { binary: false });
    assert.equal((await oversize.closed()).code, 1009);

    for (const token of [good, forged]) {
      const bearer = await fetch(`${s.httpUrl}/api/ice-servers`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      await bearer.body?.cancel();
      const query = await fetch(`${s.httpUrl}/api/ice-servers?token=${token}`);
      await query.body?.cancel();
    }
    await s.close();
    server = undefined;

    assert.ok(lines.some((line) => line.includes("socket connected")));
    assert.ok(lines.some((line) => line.includes("socket error")));
    assertNoTokens(lines, [good, urlGood, forged, expired, otherRoom]);
  });

  it("not when verification fails inside the server (the failure itself is logged)", async () => {
    const { lines, logger } = captureLogs("trace");
    const jwks = await startJwksServer([]);
    await jwks.close();
    const s = await start({ authJwksUrl: jwks.url }, logger);
    const token = await signWith(keyPair("ec").privateKey, "ES256", validClaims("r", "a"), "k1");
    const a = await s.connect();
    a.send({ type: "join", roomId: "r", token });
    assert.equal(
      (await a.nextError("internal")).message,
      "cannot fetch the keys to verify the join token",
    );
    const b = await s.connect(`/ws?token=${token}`);
    b.send({ type: "join", roomId: "r" });
    await b.nextError("internal");
    await s.close();
    server = undefined;

    const failures = lines.filter((line) => line.includes("cannot verify a join token"));
    assert.equal(failures.length, 2, "each failure is logged for the operator");
    for (const line of failures) assert.equal(JSON.parse(line).level, 50);
    assertNoTokens(lines, [token]);
  });
});
