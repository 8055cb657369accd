import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { HS_SECRET, secretKey, signWith, validClaims } from "../helpers/tokens.js";

/** The longest `join.token` accepted (docs/protocol.md: "≤ 8192 chars"). */
const MAX_TOKEN = 8192;

/**
 * A valid join token for `room` of exactly `length` characters: the
 * signature is good and the claims are right, so only its length can be
 * held against it. A `pad` claim sets the length (base64url skips some
 * lengths, so a second claim's length is varied too).
 */
async function tokenOfLength(room: string, length: number): Promise<string> {
  for (let extra = 0; extra < 4; extra++) {
    for (let pad = Math.floor(length * 0.75) - 300; pad < length; pad++) {
      const token = await signWith(
        secretKey(HS_SECRET),
        "HS256",
        validClaims(room, "sub", { pad: "p".repeat(pad), x: "x".repeat(extra) }),
      );
      if (token.length === length) return token;
      if (token.length > length) break;
    }
  }
  throw new Error(`could not make a token of exactly ${length} characters`);
}

describe("join token length cap (8192 characters)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ authSecret: HS_SECRET });
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  it("accepts a valid token of 8192 characters", async () => {
    const token = await tokenOfLength("cap", MAX_TOKEN);
    const client = await server.connect();
    const joined = await client.join("cap", { token });
    assert.equal(joined.userId, "sub");
  });

  it("refuses a valid token of 8193 characters as bad-message, before checking it, and changes nothing", async () => {
    const token = await tokenOfLength("cap-over", MAX_TOKEN + 1);
    const client = await server.connect();
    client.send({ type: "join", roomId: "cap-over", token });
    const refused = await client.nextError("bad-message");
    assert.match(String(refused.message), /token/, "the error names the field");
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    await client.expectNothing();
  });

  it("refuses a far longer one the same way", async () => {
    const client = await server.connect();
    client.send({ type: "join", roomId: "cap", token: "a".repeat(60_000) });
    assert.match(String((await client.nextError("bad-message")).message), /token/);
  });
});
