import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { JWTPayload } from "jose";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import {
  type AuthMode,
  hs256Mode,
  jwksMode,
  nowSeconds,
  pemMode,
  unsecuredToken,
  validClaims,
} from "../helpers/tokens.js";

/**
 * One suite of join-token cases, run against every way the server can
 * verify tokens: an HS256 secret, an RS256 or ES256 PEM public key, and a
 * JWKS URL served over real HTTP.
 */
const MODES: readonly [string, () => AuthMode | Promise<AuthMode>][] = [
  ["HS256 secret", hs256Mode],
  ["RS256 PEM public key", () => pemMode("rsa")],
  ["ES256 PEM public key", () => pemMode("ec")],
  ["JWKS URL", jwksMode],
];

const ROOM = "r1";

interface Refusal {
  readonly title: string;
  /** The token to present; undefined presents none. */
  readonly token: (mode: AuthMode) => Promise<string | undefined>;
  readonly code: "unauthorized" | "forbidden";
  readonly message: string;
}

const REFUSALS: readonly Refusal[] = [
  {
    title: "a missing token",
    token: async () => undefined,
    code: "unauthorized",
    message: "a join token is required",
  },
  {
    title: 'a malformed token ("abc")',
    token: async () => "abc",
    code: "unauthorized",
    message: "join token is malformed",
  },
  {
    title: 'a malformed token ("a.b.c")',
    token: async () => "a.b.c",
    code: "unauthorized",
    message: "join token is malformed",
  },
  {
    title: "a token signed with another key",
    token: (mode) => mode.forge(validClaims(ROOM, "mallory")),
    code: "unauthorized",
    message: "join token signature is invalid",
  },
  {
    title: "a valid token with its signature swapped for another key's",
    token: async (mode) => {
      const [header, payload] = (await mode.sign(validClaims(ROOM, "alice"))).split(".");
      const forged = (await mode.forge(validClaims(ROOM, "alice"))).split(".")[2];
      return `${header}.${payload}.${forged}`;
    },
    code: "unauthorized",
    message: "join token signature is invalid",
  },
  {
    title: "an expired token",
    token: (mode) => mode.sign(validClaims(ROOM, "alice", { exp: nowSeconds() - 120 })),
    code: "unauthorized",
    message: "join token has expired",
  },
  {
    title: "a token that is not yet valid (nbf)",
    token: (mode) => mode.sign(validClaims(ROOM, "alice", { nbf: nowSeconds() + 3600 })),
    code: "unauthorized",
    message: "join token is not yet valid",
  },
  {
    title: "a token without sub",
    token: (mode) => mode.sign({ room: ROOM, exp: nowSeconds() + 3600 }),
    code: "unauthorized",
    message: "join token claim sub is invalid",
  },
  {
    title: "a token without exp",
    token: (mode) => mode.sign({ room: ROOM, sub: "alice" }),
    code: "unauthorized",
    message: "join token claim exp is invalid",
  },
  {
    title: "a token without a room claim",
    token: (mode) => mode.sign({ sub: "alice", exp: nowSeconds() + 3600 }),
    code: "unauthorized",
    message: "join token claim room is invalid",
  },
  {
    title: "an unsigned token (alg: none)",
    token: async () => unsecuredToken(validClaims(ROOM, "alice")),
    code: "unauthorized",
    message: "join token algorithm is not allowed",
  },
  {
    title: "a token signed with an algorithm this mode does not allow",
    token: (mode) => mode.wrongAlgorithm(validClaims(ROOM, "alice")),
    code: "unauthorized",
    message: "join token algorithm is not allowed",
  },
  {
    title: "a token for another room",
    token: (mode) => mode.mint({ room: "r2", sub: "alice" }),
    code: "forbidden",
    message: "the join token is for another room",
  },
];

for (const [name, makeMode] of MODES) {
  describe(`join tokens: ${name}`, () => {
    let mode: AuthMode;
    let server: TestServer;
    before(async () => {
      mode = await makeMode();
    });
    after(async () => {
      await mode.close();
    });
    beforeEach(async () => {
      server = await startTestServer({ ...mode.overrides, ...BULK_LIMITS });
    });
    afterEach(async () => {
      await server.close();
    });

    it("admits a valid token given in join.token", async () => {
      const a = await server.connect();
      const joined = await a.join(ROOM, { token: await mode.mint({ room: ROOM, sub: "alice" }) });
      assert.equal(joined.roomId, ROOM);
      assert.equal(joined.userId, "alice");
      assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
    });

    it("admits a valid token given as ?token= on the WebSocket URL", async () => {
      const token = await mode.mint({ room: ROOM, sub: "alice" });
      const a = await server.connect(`/ws?token=${encodeURIComponent(token)}`);
      const joined = await a.join(ROOM);
      assert.equal(joined.userId, "alice");
      // The same token also serves on the root path.
      const b = await server.connect(`/?token=${encodeURIComponent(token)}`);
      assert.equal((await b.join(ROOM)).userId, "alice");
      assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
    });

    it("prefers join.token over ?token= when both are given", async () => {
      const forA = await mode.mint({ room: "room-a", sub: "from-url" });
      const forB = await mode.mint({ room: "room-b", sub: "from-join" });
      const a = await server.connect(`/ws?token=${encodeURIComponent(forA)}`);
      // join.token for room-b wins, though the URL's token is for room-a.
      const joined = await a.join("room-b", { token: forB });
      assert.equal(joined.userId, "from-join");

      // A bad join.token is not rescued by a good URL token.
      const b = await server.connect(`/ws?token=${encodeURIComponent(forA)}`);
      b.send({ type: "join", roomId: "room-a", token: "abc" });
      assert.equal((await b.nextError("unauthorized")).message, "join token is malformed");
      assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 1, parked: 0 });
    });

    for (const refusal of REFUSALS) {
      it(`refuses ${refusal.title} (${refusal.code}), leaving the room untouched`, async () => {
        const member = await server.connect();
        await member.join(ROOM, { token: await mode.mint({ room: ROOM, sub: "member" }) });
        const before = await server.app.rooms.stats();
        assert.deepEqual(before, { rooms: 1, members: 1, parked: 0 });

        const token = await refusal.token(mode);
        const attempts: TestClient[] = [];
        const inJoin = await server.connect();
        inJoin.send({ type: "join", roomId: ROOM, ...(token !== undefined ? { token } : {}) });
        attempts.push(inJoin);
        if (token !== undefined) {
          const onUrl = await server.connect(`/ws?token=${encodeURIComponent(token)}`);
          onUrl.send({ type: "join", roomId: ROOM });
          attempts.push(onUrl);
        }
        for (const client of attempts) {
          const error = await client.nextError(refusal.code);
          assert.deepEqual(error, { type: "error", code: refusal.code, message: refusal.message });
          await client.expectNothing();
        }
        assert.deepEqual(await server.app.rooms.stats(), before);
        assert.equal((await server.app.rooms.members(ROOM)).length, 1);
        await member.expectNothing();
      });
    }

    it("keeps a member in its room when a join elsewhere is refused", async () => {
      const a = await server.connect();
      const b = await server.connect();
      const aJoined = await a.join("x", { token: await mode.mint({ room: "x", sub: "a" }) });
      const bJoined = await b.join("x", { token: await mode.mint({ room: "x", sub: "b" }) });
      await b.next("ready");
      await a.next("peer-joined");
      await a.next("ready");

      const refusals: [JWTPayload | string, string, string][] = [
        ["abc", "unauthorized", "join token is malformed"],
        [
          validClaims("y", "b", { exp: nowSeconds() - 120 }),
          "unauthorized",
          "join token has expired",
        ],
        [validClaims("z", "b"), "forbidden", "the join token is for another room"],
      ];
      for (const [claims, code, message] of refusals) {
        const token = typeof claims === "string" ? claims : await mode.sign(claims);
        b.send({ type: "join", roomId: "y", token });
        assert.deepEqual(await b.nextError(code), { type: "error", code, message });
      }
      b.send({ type: "join", roomId: "y" });
      assert.equal((await b.nextError("unauthorized")).message, "a join token is required");

      await a.expectNothing();
      assert.deepEqual(await server.app.rooms.stats(), { rooms: 1, members: 2, parked: 0 });
      // b is still in x: relays flow both ways.
      b.send({ type: "message", data: "still here" });
      assert.deepEqual(await a.next("message"), {
        type: "message",
        data: "still here",
        from: bJoined.peerId,
      });
      a.send({ type: "message", data: "hello" });
      assert.deepEqual(await b.next("message"), {
        type: "message",
        data: "hello",
        from: aJoined.peerId,
      });
    });
  });
}
