import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { JWTPayload } from "jose";
import type { Config } from "../../src/server/config.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import {
  HS_SECRET,
  jwksMode,
  keyPair,
  nowSeconds,
  secretKey,
  signWith,
  startJwksServer,
  validClaims,
} from "../helpers/tokens.js";

const sign = (claims: JWTPayload) => signWith(secretKey(HS_SECRET), "HS256", claims);

describe("join token claims (HS256)", () => {
  let server: TestServer | undefined;
  const start = async (overrides: Partial<Config> = {}) => {
    server = await startTestServer({ authSecret: HS_SECRET, ...BULK_LIMITS, ...overrides });
    return server;
  };
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("accepts a token expired 10 s ago within a 30 s clock tolerance", async () => {
    const s = await start({ authClockToleranceSeconds: 30 });
    const token = await sign(validClaims("r", "alice", { exp: nowSeconds() - 10 }));
    const a = await s.connect();
    assert.equal((await a.join("r", { token })).userId, "alice");
  });

  it("refuses a token expired 10 s ago with no clock tolerance", async () => {
    const s = await start({ authClockToleranceSeconds: 0 });
    const token = await sign(validClaims("r", "alice", { exp: nowSeconds() - 10 }));
    const a = await s.connect();
    a.send({ type: "join", roomId: "r", token });
    assert.equal((await a.nextError("unauthorized")).message, "join token has expired");
    assert.deepEqual(await s.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
  });

  it("accepts a token whose nbf is 10 s ahead within the tolerance", async () => {
    const s = await start({ authClockToleranceSeconds: 30 });
    const token = await sign(validClaims("r", "alice", { nbf: nowSeconds() + 10 }));
    const a = await s.connect();
    assert.equal((await a.join("r", { token })).userId, "alice");
  });

  it("enforces authIssuer and authAudience when configured", async () => {
    const s = await start({ authIssuer: "https://idp.example", authAudience: "signalroom" });
    const good = { iss: "https://idp.example", aud: "signalroom" };
    const cases: [Record<string, unknown>, string][] = [
      [{}, "join token claim iss is invalid"],
      [{ ...good, iss: "https://evil.example" }, "join token claim iss is invalid"],
      [{ iss: good.iss }, "join token claim aud is invalid"],
      [{ ...good, aud: "someone-else" }, "join token claim aud is invalid"],
    ];
    const a = await s.connect();
    for (const [extra, message] of cases) {
      a.send({ type: "join", roomId: "r", token: await sign(validClaims("r", "alice", extra)) });
      assert.deepEqual(await a.nextError("unauthorized"), {
        type: "error",
        code: "unauthorized",
        message,
      });
    }
    assert.deepEqual(await s.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    const joined = await a.join("r", { token: await sign(validClaims("r", "alice", good)) });
    assert.equal(joined.userId, "alice");
    // An audience list naming us is fine too.
    const b = await s.connect();
    const listed = await sign(validClaims("r", "bob", { ...good, aud: ["other", "signalroom"] }));
    assert.equal((await b.join("r", { token: listed })).userId, "bob");
  });

  it("ignores iss and aud when none is configured", async () => {
    const s = await start();
    const token = await sign(validClaims("r", "alice", { iss: "anyone", aud: "anything" }));
    const a = await s.connect();
    assert.equal((await a.join("r", { token })).userId, "alice");
  });

  it('admits any room with room: "*"', async () => {
    const s = await start();
    const token = await sign(validClaims("*", "alice"));
    const a = await s.connect();
    const b = await s.connect();
    assert.equal((await a.join("first", { token })).roomId, "first");
    assert.equal((await b.join(42, { token })).roomId, "42");
    // A re-join elsewhere with the same token works as well.
    assert.equal((await a.join("third", { token })).roomId, "third");
    assert.deepEqual(await s.app.rooms.stats(), { rooms: 2, members: 2, parked: 0 });
  });

  it("normalises the room claim like a roomId", async () => {
    const s = await start();
    const a = await s.connect();
    const padded = await sign(validClaims(" r1 ", "alice"));
    assert.equal((await a.join("r1", { token: padded })).roomId, "r1");
    const b = await s.connect();
    assert.equal((await b.join(" r1", { token: padded })).roomId, "r1");
    const numeric = await sign({ room: 1001, sub: "carol", exp: nowSeconds() + 60 });
    const c = await s.connect();
    assert.equal((await c.join("1001", { token: numeric })).roomId, "1001");
    const d = await s.connect();
    d.send({ type: "join", roomId: "r1 and more", token: padded });
    assert.deepEqual(await d.nextError("forbidden"), {
      type: "error",
      code: "forbidden",
      message: "the join token is for another room",
    });
  });

  it("refuses a room claim that is no valid room id", async () => {
    const s = await start();
    const a = await s.connect();
    for (const room of ["", "   ", "x".repeat(129), "bad\u0000room", true, ["r"]]) {
      a.send({
        type: "join",
        roomId: "r",
        token: await sign({ room, sub: "a", exp: nowSeconds() + 60 }),
      });
      assert.deepEqual(await a.nextError("unauthorized"), {
        type: "error",
        code: "unauthorized",
        message: "join token claim room is invalid",
      });
    }
    assert.deepEqual(await s.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
  });

  it("refuses claims of the wrong shape by name", async () => {
    const s = await start();
    const a = await s.connect();
    const cases: [Record<string, unknown>, string][] = [
      [{ role: "admin" }, "join token claim role is invalid"],
      [{ maxPeers: 1 }, "join token claim maxPeers is invalid"],
      [{ maxPeers: "3" }, "join token claim maxPeers is invalid"],
      [{ name: "n".repeat(65) }, "join token claim name is invalid"],
      [{ sub: "" }, "join token claim sub is invalid"],
      [{ sub: 7 }, "join token claim sub is invalid"],
    ];
    for (const [extra, message] of cases) {
      a.send({ type: "join", roomId: "r", token: await sign(validClaims("r", "alice", extra)) });
      assert.equal((await a.nextError("unauthorized")).message, message);
    }
    assert.deepEqual(await s.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
  });
});

describe("join tokens from a JWKS URL", () => {
  let mode: Awaited<ReturnType<typeof jwksMode>>;
  let server: TestServer | undefined;
  before(async () => {
    mode = await jwksMode();
  });
  after(async () => {
    await mode.close();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("picks the key by kid: an RS256 token from the same set is admitted", async () => {
    server = await startTestServer(mode.overrides);
    const token = await signWith(
      mode.rsa.privateKey,
      "RS256",
      validClaims("r", "rsa-user"),
      "rs-1",
    );
    const a = await server.connect();
    assert.equal((await a.join("r", { token })).userId, "rsa-user");
    assert.ok(mode.jwks.fetches() >= 1, "the key set was fetched over HTTP");
  });

  it("refuses a token whose kid is not in the set", async () => {
    server = await startTestServer(mode.overrides);
    const stranger = keyPair("ec");
    const token = await signWith(stranger.privateKey, "ES256", validClaims("r", "x"), "nobody");
    const a = await server.connect();
    a.send({ type: "join", roomId: "r", token });
    assert.deepEqual(await a.nextError("unauthorized"), {
      type: "error",
      code: "unauthorized",
      message: "join token was signed with an unknown key",
    });
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
  });

  it("answers internal, and touches no room, when the key set cannot be fetched", async () => {
    const gone = await startJwksServer([]);
    const url = gone.url;
    await gone.close();
    server = await startTestServer({ authJwksUrl: url });
    const a = await server.connect();
    a.send({ type: "join", roomId: "r", token: await mode.sign(validClaims("r", "alice")) });
    const error = await a.nextError("internal");
    assert.equal(error.message, "cannot fetch the keys to verify the join token");
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    await a.expectNothing();
  });
});
