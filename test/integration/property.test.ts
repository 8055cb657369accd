import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  CLIENT_TYPES,
  isErrorCode,
  RELAY_TYPES,
  type RelayType,
  serverMessageSchema,
} from "../../src/protocol/index.js";
import { MemoryRooms } from "../../src/server/rooms/memory.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { eventually } from "../helpers/wait.js";

const CLIENTS = 6;
const NUM_RUNS = 60;
const SERVER_TYPES = [
  "joined",
  "full",
  "ready",
  "peer-joined",
  "peer-left",
  "left",
  "pong",
  "kicked",
  "locked",
  "unlocked",
  "error",
] as const;
const ALL_TYPES = [...new Set([...CLIENT_TYPES, ...SERVER_TYPES])];
/** Few rooms, written several ways ("7" and 7 and " 7 " are one room), so joins collide. */
const ROOM_IDS = ["r0", "r1", " r1 ", "7", 7, "r2"] as const;

/** Who a command addresses: nobody, a client (by index, whatever its peer id is now), or any text. */
type Target = null | { readonly peer: number } | { readonly id: string };

type Command =
  | { kind: "join"; client: number; roomId: unknown; name?: string | undefined }
  | { kind: "leave" | "ping" | "reconnect"; client: number }
  | { kind: "relay"; client: number; type: RelayType; to: Target; payload: unknown }
  | { kind: "host"; client: number; type: "kick" | "lock" | "unlock"; target: Target }
  | { kind: "json"; client: number; value: unknown }
  | { kind: "mutated"; client: number; base: number; key: string; value: unknown }
  | { kind: "text"; client: number; text: string }
  | { kind: "binary"; client: number; bytes: Uint8Array };

/** Valid messages that `mutated` commands start from. */
const BASES: readonly Record<string, unknown>[] = [
  { type: "join", roomId: "r0", name: "ann" },
  { type: "leave" },
  { type: "offer", sdp: "v=0", to: "peer-1" },
  { type: "ice", candidate: { candidate: "candidate:1", sdpMid: "0" } },
  { type: "message", data: { text: "hi" } },
  { type: "ping" },
  { type: "kick", peerId: "peer-2" },
];

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const client = fc.nat({ max: CLIENTS - 1 });
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  fc.record({ peer: fc.nat({ max: CLIENTS - 1 }) }),
  fc.record({ id: fc.string({ maxLength: 70 }) }),
);
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(...ALL_TYPES),
  fc.string({ maxLength: 20 }),
);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        kind: fc.constant("join" as const),
        client,
        roomId: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...ROOM_IDS) },
          fc.string({ maxLength: 3 }),
        ),
        name: fc.option(fc.string({ maxLength: 70 }), { nil: undefined }),
      },
      { requiredKeys: ["kind", "client", "roomId"] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("leave" as const), client }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("ping" as const), client }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reconnect" as const), client }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("relay" as const),
      client,
      type: fc.constantFrom(...RELAY_TYPES),
      to: target,
      payload: fc.jsonValue({ maxDepth: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("host" as const),
      client,
      type: fc.constantFrom("kick" as const, "lock" as const, "unlock" as const),
      target,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("json" as const), client, value: fc.jsonValue() }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("mutated" as const),
      client,
      base: fc.nat({ max: BASES.length - 1 }),
      key: fc.oneof(
        fc.constantFrom("type", "roomId", "name", "token", "to", "from", "data", "peerId"),
        fc.constantFrom("__proto__", "constructor", "prototype", "toString"),
        fc.string({ maxLength: 8 }),
      ),
      value: anyValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("text" as const),
      client,
      text: fc.oneof(
        fc.string({ maxLength: 30 }).filter((s) => !isJson(s)),
        fc
          .tuple(fc.nat({ max: BASES.length - 1 }), fc.nat({ max: 40 }))
          .map(([b, n]) => JSON.stringify(BASES[b]).slice(0, n))
          .filter((s) => !isJson(s)),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("binary" as const),
      client,
      bytes: fc.uint8Array({ maxLength: 64 }),
    }),
  },
);

/** Up to 6 batches of up to 5 commands: at most 30 commands a run. */
const scenario = fc.array(fc.array(command, { minLength: 2, maxLength: 5, size: "max" }), {
  minLength: 2,
  maxLength: 6,
  size: "max",
});

/** A client as the test sees it: its socket, its peer id, and its own view of its room. */
interface Seat {
  client: TestClient;
  peerId: string;
  room: string | null;
  /** The other members of `room`, as this client's own frames told it (joined, peer-joined, peer-left). */
  roomMates: Set<string>;
  pingsSent: number;
  pongsSeen: number;
}

/** A text frame the server will answer with `pong` (the server reads the last `type`, as we do). */
function isPing(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return (
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      Object.hasOwn(value, "type") &&
      (value as Record<string, unknown>).type === "ping"
    );
  } catch {
    return false;
  }
}

describe("property: any sequence of client messages keeps the server sound", () => {
  let server: TestServer;
  let rooms: MemoryRooms | undefined;
  let nextPeer = 0;
  const seen = new Map<string, number>();
  before(async () => {
    server = await startTestServer(BULK_LIMITS, {
      createPeerId: () => `peer-${++nextPeer}`,
      createRooms: (opts) => {
        rooms = new MemoryRooms(opts);
        return rooms;
      },
    });
  });
  after(async () => {
    await server.close();
  });

  /** Connects a client; ids are handed out in connection order, so its id is known. */
  async function seat(): Promise<Seat> {
    const expected = `peer-${nextPeer + 1}`;
    const client = await server.connect();
    assert.equal(`peer-${nextPeer}`, expected);
    return {
      client,
      peerId: expected,
      room: null,
      roomMates: new Set(),
      pingsSent: 0,
      pongsSeen: 0,
    };
  }

  /** Checks one received frame against the protocol and updates the client's view. */
  function receive(s: Seat, text: string): void {
    const value: unknown = JSON.parse(text);
    const parsed = serverMessageSchema.safeParse(value);
    assert.ok(parsed.success, `invalid server frame to ${s.peerId}: ${text.slice(0, 300)}`);
    const message = parsed.data;
    if (message.type === "error") {
      // The schema takes any code (clients must); our server sends only registered ones.
      assert.ok(isErrorCode(message.code), `unregistered error code in ${text.slice(0, 300)}`);
    }
    const kind = message.type === "error" ? `error:${message.code}` : message.type;
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    if (message.type === "joined") {
      assert.equal(message.peerId, s.peerId);
      s.room = message.roomId;
      s.roomMates = new Set(message.peerIds);
    } else if (["left", "full", "kicked"].includes(message.type)) {
      s.room = null;
      s.roomMates = new Set();
    } else if (message.type === "peer-joined") {
      assert.ok(s.room !== null, `peer-joined to ${s.peerId}, in no room: ${text.slice(0, 300)}`);
      s.roomMates.add(message.peerId);
    } else if (message.type === "peer-left") {
      assert.ok(
        s.roomMates.delete(message.peerId),
        `peer-left to ${s.peerId} for ${message.peerId}, not a member of its room ${s.room}`,
      );
    } else if (message.type === "pong") {
      s.pongsSeen++;
    } else if (
      message.type === "offer" ||
      message.type === "answer" ||
      message.type === "ice" ||
      message.type === "message"
    ) {
      // A relay reaches only members of the sender's room: the receiver is in
      // a room, and the sender is one of its members at that point of the
      // receiver's own (ordered) stream of frames.
      const from = message.from;
      assert.ok(s.room !== null, `${message.type} from ${from} to ${s.peerId}, in no room`);
      assert.ok(
        s.roomMates.has(from),
        `${message.type} from ${from} to ${s.peerId} in ${s.room}, whose members are ${[...s.roomMates].join(", ") || "none"}`,
      );
      const to = (value as Record<string, unknown>).to;
      if (to !== undefined) assert.equal(to, s.peerId, `a relay addressed to ${String(to)}`);
    }
  }

  function sendText(s: Seat, text: string): void {
    if (isPing(text)) s.pingsSent++;
    s.client.sendRaw(text);
  }

  /** Reads every frame up to the reply to this client's last ping. */
  async function drain(s: Seat): Promise<void> {
    while (s.pongsSeen < s.pingsSent) receive(s, await s.client.nextText());
  }

  function resolve(seats: Seat[], t: Target): string | undefined {
    if (t === null) return undefined;
    return "peer" in t ? seats[t.peer]?.peerId : t.id;
  }

  async function run(seats: Seat[], c: Command, dead: Set<string>): Promise<void> {
    const s = seats[c.client] as Seat;
    switch (c.kind) {
      case "join":
        return sendText(s, JSON.stringify({ type: "join", roomId: c.roomId, name: c.name }));
      case "leave":
      case "ping":
        return sendText(s, JSON.stringify({ type: c.kind }));
      case "relay": {
        const to = resolve(seats, c.to);
        return sendText(s, JSON.stringify({ type: c.type, to, payload: c.payload }));
      }
      case "host":
        return sendText(s, JSON.stringify({ type: c.type, peerId: resolve(seats, c.target) }));
      case "json":
        return sendText(s, JSON.stringify(c.value) ?? "null");
      case "mutated": {
        const message = structuredClone(BASES[c.base]) as Record<string, unknown>;
        // defineProperty, so `__proto__` becomes an own key rather than a prototype.
        Object.defineProperty(message, c.key, {
          value: c.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return sendText(s, JSON.stringify(message));
      }
      case "text":
        return sendText(s, c.text);
      case "binary":
        return s.client.sendRaw(Buffer.from(c.bytes));
      case "reconnect": {
        await s.client.close();
        while (s.client.pending > 0) receive(s, await s.client.nextText());
        dead.add(s.peerId);
        seats[c.client] = await seat();
        return;
      }
    }
  }

  /** Waits until the server has acted on everything sent and delivered all it caused. */
  async function quiesce(seats: Seat[], dead: Set<string>): Promise<void> {
    // Closed sockets are cleaned up on the server's schedule; nothing tells a client when.
    await eventually(() => {
      assert.equal(server.app.connections(), CLIENTS);
      for (const room of rooms?.snapshot() ?? []) {
        for (const m of room.members) assert.ok(!dead.has(m.peerId), `${m.peerId} is gone`);
      }
    });
    // Round 1: every client's own messages are handled. Round 2: whatever they
    // sent to others was written before the second pings, so it is read now.
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        seats.map((s) => {
          sendText(s, '{"type":"ping"}');
          return drain(s);
        }),
      );
    }
  }

  async function checkInvariants(seats: Seat[]): Promise<void> {
    const health = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as Record<string, unknown>;
    const snapshot = rooms?.snapshot() ?? [];
    assert.equal(body.status, "ok");
    assert.equal(body.connections, CLIENTS);
    assert.equal(body.rooms, snapshot.length);

    const live = new Map(seats.map((s) => [s.peerId, s]));
    const roomOf = new Map<string, string>();
    for (const room of snapshot) {
      assert.ok(room.members.length > 0, `room ${room.roomId} is empty`);
      assert.ok(room.members.length <= room.capacity, `room ${room.roomId} is over capacity`);
      assert.equal(room.locked, false, "nobody may lock a room without auth");
      for (const { peerId } of room.members) {
        assert.ok(live.has(peerId), `${peerId} in ${room.roomId} is not connected`);
        assert.ok(!roomOf.has(peerId), `${peerId} is in ${roomOf.get(peerId)} and ${room.roomId}`);
        roomOf.set(peerId, room.roomId);
      }
    }
    assert.equal(body.members, roomOf.size);
    for (const s of seats) {
      assert.equal(roomOf.get(s.peerId) ?? null, s.room, `${s.peerId}'s own view of its room`);
    }
  }

  it(`holds for ${NUM_RUNS} random runs of up to 30 commands on ${CLIENTS} clients`, async () => {
    let commands = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (batches) => {
        const seats: Seat[] = [];
        const dead = new Set<string>();
        for (let i = 0; i < CLIENTS; i++) seats.push(await seat());
        try {
          for (const batch of batches) {
            for (const c of batch) await run(seats, c, dead);
            // Then every client relays once, while the batch's joins and
            // leaves may still be in flight: receive() checks that each
            // relay reaches only members of its sender's room.
            for (const s of seats) sendText(s, '{"type":"message","data":"everyone"}');
            commands += batch.length;
            await quiesce(seats, dead);
            await checkInvariants(seats);
          }
        } finally {
          await server.closeClients();
          await eventually(async () => {
            assert.equal(server.app.connections(), 0);
            assert.deepEqual(rooms?.snapshot(), []);
          });
        }
      }),
      { numRuns: NUM_RUNS },
    );
    console.log(
      `property: ${commands} commands; server frames seen: ${JSON.stringify(Object.fromEntries(seen))}`,
    );
  });
});
