import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { type MintOptions, mintJoinToken } from "../../src/server/auth/mint-token.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { HS_SECRET } from "../helpers/tokens.js";

const mint = (opts: MintOptions) => mintJoinToken({ secret: HS_SECRET }, opts);

interface Room {
  readonly host: TestClient;
  readonly hostId: string;
  readonly guest: TestClient;
  readonly guestId: string;
}

/**
 * A client's request `id` comes back in the server's direct replies to that
 * request, and only there: never in what the same request makes the server
 * send to others (docs/protocol.md, "Any client message may carry an id").
 * Relayed payloads are forwarded as their sender wrote them, an `id` field
 * included, and the sender gets no reply to a relay.
 */
describe("request ids: echoed to the requester, never sent to others", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ authSecret: HS_SECRET });
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  /** A host (joined with id "host-join") and a guest (joined with id 42), every frame read and checked. */
  async function room(roomId: string): Promise<Room> {
    const host = await server.connect();
    host.send({
      type: "join",
      roomId,
      id: "host-join",
      token: await mint({ room: roomId, sub: "host", role: "host" }),
    });
    const hostJoined = await host.next("joined");
    assert.equal(hostJoined.id, "host-join");
    const guest = await server.connect();
    guest.send({ type: "join", roomId, id: 42, token: await mint({ room: roomId, sub: "guest" }) });
    const guestJoined = await guest.next("joined");
    assert.equal(guestJoined.id, 42);
    return {
      host,
      hostId: String(hostJoined.peerId),
      guest,
      guestId: String(guestJoined.peerId),
    };
  }

  it("puts the joiner's id on its ready, and no id on the ready and peer-joined of the member already there", async () => {
    const { host, guest, guestId } = await room("ready-ids");
    // The later joiner is the initiator; its `ready` answers its join.
    assert.deepEqual(await guest.next(), { type: "ready", isInitiator: true, id: 42 });
    assert.deepEqual(await host.next(), {
      type: "peer-joined",
      peerId: guestId,
      userId: "guest",
      role: "guest",
    });
    assert.deepEqual(await host.next(), { type: "ready", isInitiator: false });
    await host.expectNothing();
    await guest.expectNothing();
  });

  it("puts the host's id on its locked and unlocked, and none on the others' copies", async () => {
    const { host, hostId, guest } = await room("lock-ids");
    await guest.next("ready");
    await host.next("peer-joined");
    await host.next("ready");

    host.send({ type: "lock", id: "lock-1" });
    assert.deepEqual(await host.next(), {
      type: "locked",
      roomId: "lock-ids",
      by: hostId,
      id: "lock-1",
    });
    assert.deepEqual(await guest.next(), { type: "locked", roomId: "lock-ids", by: hostId });

    host.send({ type: "unlock", id: 7 });
    assert.deepEqual(await host.next(), {
      type: "unlocked",
      roomId: "lock-ids",
      by: hostId,
      id: 7,
    });
    assert.deepEqual(await guest.next(), { type: "unlocked", roomId: "lock-ids", by: hostId });
    await host.expectNothing();
    await guest.expectNothing();
  });

  it("forwards a relayed payload as written, its id included, and answers the sender nothing", async () => {
    const { host, hostId, guest, guestId } = await room("relay-ids");
    await guest.next("ready");
    await host.next("peer-joined");
    await host.next("ready");

    for (const type of ["offer", "answer", "ice", "message"]) {
      const text = JSON.stringify({ type, sdp: "v=0", id: `${type}-1` });
      guest.sendRaw(text);
      // Byte for byte the sender's text, with only the server's `from` added.
      assert.equal(
        await host.nextText(),
        `${text.slice(0, -1)},"from":${JSON.stringify(guestId)}}`,
      );
      const directed = JSON.stringify({ type, to: guestId, data: 1, id: 99 });
      host.sendRaw(directed);
      assert.equal(
        await guest.nextText(),
        `${directed.slice(0, -1)},"from":${JSON.stringify(hostId)}}`,
      );
    }
    // A payload the server must rebuild (it carries its own `from`) keeps its id too.
    guest.send({ type: "message", from: "forged", id: "m-2", data: 2 });
    assert.deepEqual(await host.next(), { type: "message", id: "m-2", data: 2, from: guestId });
    // No reply to a relay, with or without the id.
    await guest.expectNothing();
    await host.expectNothing();
  });

  it("puts the leaver's id on its left, and none on the others' peer-left", async () => {
    const { host, guest, guestId } = await room("leave-ids");
    await guest.next("ready");
    await host.next("peer-joined");
    await host.next("ready");

    guest.send({ type: "leave", id: "bye" });
    assert.deepEqual(await guest.next(), { type: "left", roomId: "leave-ids", id: "bye" });
    assert.deepEqual(await host.next(), { type: "peer-left", peerId: guestId, reason: "left" });
    await host.expectNothing();
  });
});
