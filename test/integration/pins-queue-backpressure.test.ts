import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { MemoryRooms } from "../../src/server/rooms/memory.js";
import type { JoinOutcome, JoinRequest } from "../../src/server/rooms/rooms.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import { eventually, within } from "../helpers/wait.js";

/**
 * The memory store with one change: a join waits until the test lets it
 * through. This is the only way to hold a join mid-flight for as long as
 * the test needs (a slow JWKS or a slow Redis would do the same, with a
 * race); everything else is the real store, behind the real server.
 */
class HeldJoinRooms extends MemoryRooms {
  #release: () => void = () => {};
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  /** Resolves once a join reached the store. */
  readonly joining: Promise<void>;
  #joined: () => void = () => {};

  constructor(...args: ConstructorParameters<typeof MemoryRooms>) {
    super(...args);
    this.joining = new Promise<void>((resolve) => {
      this.#joined = resolve;
    });
  }

  release(): void {
    this.#release();
  }

  override async join(req: JoinRequest): Promise<JoinOutcome> {
    this.#joined();
    await this.#released;
    return super.join(req);
  }
}

/** A 60 KB frame; the server queues it behind the join (it answers `pong` later). */
const PING = JSON.stringify({ type: "ping", pad: "x".repeat(60_000) });
/**
 * Unsent bytes on the client's side that prove the server stopped reading:
 * with the server reading on, the client's socket drains every turn.
 */
const STALLED_BYTES = 4 * 1024 * 1024;

/** The most a loopback connection can hold in kernel buffers (both ends), from the kernel's own limits. */
function kernelBufferBytes(): number {
  const max = (path: string) => {
    try {
      return Number(readFileSync(path, "utf8").trim().split(/\s+/)[2]);
    } catch {
      return 32 * 1024 * 1024;
    }
  };
  return max("/proc/sys/net/ipv4/tcp_rmem") + max("/proc/sys/net/ipv4/tcp_wmem");
}

/**
 * While one message waits (here a join the store holds), at most 64 more
 * are queued behind it; then the server stops reading the socket, so TCP
 * pushes back on the client instead of the server's memory growing. The
 * client below keeps sending 60 KB frames, one per event-loop turn: once
 * the kernel's buffers are full, its unsent bytes pile up, which can only
 * happen if the server stopped reading. If the server read on, the client
 * would get everything out, and after more than the kernel can ever hold
 * the test fails.
 */
describe("queue backpressure: a socket stops being read while 64 messages wait behind a slow one", () => {
  let server: TestServer;
  let rooms: HeldJoinRooms | undefined;
  before(async () => {
    server = await startTestServer(BULK_LIMITS, {
      createRooms: (options) => {
        rooms = new HeldJoinRooms(options);
        return rooms;
      },
    });
  });
  after(async () => {
    rooms?.release();
    await server.close();
  });

  it("stops reading while the join waits, and handles every message once it is through", async () => {
    assert.ok(rooms, "the server built its store through createRooms");
    const held = rooms;
    const client = await server.connect();
    client.send({ type: "join", roomId: "held" });
    await within(held.joining, 5000, "the join to reach the store");

    const cap = kernelBufferBytes() + 2 * STALLED_BYTES;
    let sent = 0;
    let frames = 0;
    while (client.ws.bufferedAmount < STALLED_BYTES) {
      if (sent > cap) {
        assert.fail(
          `the server read ${Math.round((sent - client.ws.bufferedAmount) / 1e6)} MB (${frames} frames) while a join was waiting: it never stopped reading the socket`,
        );
      }
      client.sendRaw(PING);
      sent += PING.length;
      frames++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    console.log(
      `queue backpressure: ${frames} frames sent, ${Math.round(client.ws.bufferedAmount / 1e6)} MB unsent on the client`,
    );

    held.release();
    await client.next("joined", 10_000);
    for (let i = 0; i < frames; i++) await client.next("pong", 10_000);
    await eventually(() => assert.equal(client.ws.bufferedAmount, 0, "client bytes unsent"), {
      timeoutMs: 10_000,
      what: "the server to read the client's backlog once the join was through",
    });
    await client.expectNothing();
  });
});
