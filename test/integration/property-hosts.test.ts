import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  CLOSE_CODES,
  RELAY_TYPES,
  type RelayType,
  type Role,
  serverMessageSchema,
} from "../../src/protocol/index.js";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import { MemoryRooms } from "../../src/server/rooms/memory.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import type { TestClient } from "../helpers/test-client.js";
import { HS_SECRET, OTHER_HS_SECRET } from "../helpers/tokens.js";
import { eventually } from "../helpers/wait.js";

const CLIENTS = 6;
const NUM_RUNS = 40;

const TOKEN_ROOMS = ["r0", "r1", "r2", "*"] as const;
/** What a token grants besides its room: a role, and the capacity (maxPeers) of a room it makes. */
type Grant = readonly [Role, number?];
const GRANTS: readonly Grant[] = [["host"], ["host", 4], ["guest"], ["guest", 4], ["guest", 6]];
/** A token's `sub` names its room and grant, so `joined.userId` tells which token admitted. */
const subOf = (room: string, [role, maxPeers]: Grant) => `${room}/${role}/${maxPeers ?? "-"}`;
const SPECS = new Map(
  TOKEN_ROOMS.flatMap((room) => GRANTS.map((g) => [subOf(room, g), { room, role: g[0] }])),
);
/** Rooms joins ask for (" r1 " is r1). */
const JOIN_ROOMS = ["r0", "r1", " r1 ", "r2"] as const;

/** A token for a room ("same": the one joined) with one of the GRANTS; none; or a forged one. */
type TokenChoice =
  | { room: "same" | "other" | (typeof TOKEN_ROOMS)[number]; grant: number }
  | "none"
  | "forged";
/** Nobody, the n-th roommate the sender last saw (else any client), any client, or any text. */
type Target = null | { mate: number } | { peer: number } | { id: string };

type Command =
  | { kind: "join"; client: number; roomId: string; token: TokenChoice }
  | { kind: "leave" | "ping"; client: number }
  /** `byHost`: sent by the client-th of those last seen as hosts in a room (if any). */
  | { kind: "lock" | "unlock"; client: number; byHost: boolean }
  | { kind: "kick"; client: number; byHost: boolean; target: Target }
  | { kind: "relay"; client: number; type: RelayType; to: Target; payload: unknown }
  | { kind: "reconnect"; client: number; abrupt: boolean; urlToken: TokenChoice };

const client = fc.nat({ max: CLIENTS - 1 });
const grant = fc.nat({ max: GRANTS.length - 1 });
const badToken = fc.constantFrom("none" as const, "forged" as const);
const tokenFor = (room: fc.Arbitrary<Exclude<TokenChoice, string>["room"]>) =>
  fc.record({ room, grant });
const joinToken: fc.Arbitrary<TokenChoice> = fc.oneof(
  { weight: 6, arbitrary: tokenFor(fc.constant("same")) },
  { weight: 2, arbitrary: tokenFor(fc.constant("*")) },
  { weight: 1, arbitrary: tokenFor(fc.constant("other")) },
  { weight: 1, arbitrary: badToken },
);
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ mate: client }) },
  { weight: 2, arbitrary: fc.record({ peer: client }) },
  fc.constant(null),
  fc.record({ id: fc.oneof(fc.constantFrom("", "nobody"), fc.string({ maxLength: 70 })) }),
);
const byHost = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false));
const type = fc.constantFrom(...RELAY_TYPES);
const to = fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, target);
const payload = fc.jsonValue({ maxDepth: 2 });
const abrupt = fc.boolean();
const urlToken = fc.oneof(
  { weight: 3, arbitrary: fc.constant("none" as const) },
  { weight: 2, arbitrary: tokenFor(fc.constantFrom(...TOKEN_ROOMS)) },
  badToken,
);
const roomId = fc.constantFrom(...JOIN_ROOMS);
const kind = <K extends string>(k: K) => fc.constant(k);
const join = (who: fc.Arbitrary<number>): fc.Arbitrary<Command> =>
  fc.record({ kind: kind("join"), client: who, roomId, token: joinToken });

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: join(client) },
  { weight: 2, arbitrary: fc.record({ kind: kind("leave"), client }) },
  { weight: 1, arbitrary: fc.record({ kind: kind("ping"), client }) },
  { weight: 3, arbitrary: fc.record({ kind: kind("lock"), client, byHost }) },
  { weight: 2, arbitrary: fc.record({ kind: kind("unlock"), client, byHost }) },
  { weight: 5, arbitrary: fc.record({ kind: kind("kick"), client, byHost, target }) },
  { weight: 3, arbitrary: fc.record({ kind: kind("relay"), client, type, to, payload }) },
  { weight: 2, arbitrary: fc.record({ kind: kind("reconnect"), client, abrupt, urlToken }) },
);

/**
 * A first batch where each client may join somewhere (so there are rooms,
 * hosts and guests to race), then 2 to 4 batches of 2 to 6 commands: at
 * most 30 commands a run.
 */
const setup = fc.tuple(
  ...Array.from({ length: CLIENTS }, (_, i) => fc.option(join(fc.constant(i)))),
);
const batch = fc.array(command, { minLength: 2, maxLength: 6, size: "max" });
const scenario = fc
  .tuple(setup, fc.array(batch, { minLength: 2, maxLength: 4, size: "max" }))
  .map(([first, rest]) => [first.filter((c): c is Command => c !== null), ...rest]);

/**
 * A run the property failed, replayed on its own: a host kicks a member
 * whose join into another room is still in flight (its token being
 * verified); that join must not land there. Open server bug when written.
 */
const KNOWN: Command[][] = [
  [
    { kind: "join", client: 1, roomId: " r1 ", token: { room: "same", grant: 0 } },
    { kind: "join", client: 3, roomId: "r1", token: { room: "*", grant: 0 } },
    { kind: "join", client: 5, roomId: "r2", token: { room: "same", grant: 0 } },
  ],
  [
    { kind: "join", client: 1, roomId: "r2", token: { room: "same", grant: 0 } },
    { kind: "kick", client: 3, byHost: false, target: { mate: 0 } },
  ],
];

/**
 * A client as the test sees it: its socket, peer id, and its own view of
 * its room, role, the room's lock (the last locked/unlocked since it joined)
 * and whether it read `kicked` (then its socket closes with 4501, nothing after).
 */
interface Seat {
  client: TestClient;
  peerId: string;
  room: string | null;
  /** The other members of `room`, as this client's own frames told it (joined, peer-joined, peer-left). */
  mates: Set<string>;
  role: Role | null;
  locked: boolean;
  kicked: boolean;
  pingsSent: number;
  pongsSeen: number;
}

describe("property: hosts, guests and tokens racing kick, lock, join and leave", () => {
  let server: TestServer;
  let rooms: MemoryRooms | undefined;
  let nextPeer = 0;
  /** Minted tokens by `sub`, and the forged one. */
  const tokens = new Map<string, string>();
  const seen = new Map<string, number>();
  /** Rooms each peer was told it joined, and peer-joined notices (peer, room) others got. */
  const joinedRooms = new Map<string, Set<string>>();
  const announced: { peerId: string; roomId: string }[] = [];
  /** Peers whose socket the test closed itself: their last join's reply may be lost. */
  const walkedAway = new Set<string>();
  /** This run's gone peers. */
  const dead = new Set<string>();
  /** Kicked clients (of this run or earlier ones) whose sockets are still closing. */
  const kickedSeats: Seat[] = [];

  before(async () => {
    for (const room of TOKEN_ROOMS) {
      for (const [role, maxPeers] of GRANTS) {
        const sub = subOf(room, [role, maxPeers]);
        tokens.set(sub, await mintJoinToken({ secret: HS_SECRET }, { room, sub, role, maxPeers }));
      }
    }
    tokens.set("forged", await mintJoinToken({ secret: OTHER_HS_SECRET }, { room: "*", sub: "x" }));
    server = await startTestServer(
      // Resume off: an abrupt reconnect leaves at once, as this model expects
      // (parking and resume have their own property test).
      { ...BULK_LIMITS, authSecret: HS_SECRET, joinTimeoutMs: 3_600_000, resumeGraceMs: 0 },
      {
        createPeerId: () => `peer-${++nextPeer}`,
        createRooms: (deliver) => {
          rooms = new MemoryRooms(deliver);
          return rooms;
        },
      },
    );
  });
  after(async () => {
    await eventually(async () => assert.equal(await lingering(), 0));
    await server.close();
  });

  /** The token text for a choice; `joinRoom` is the room a join asks for. */
  function tokenText(choice: TokenChoice, joinRoom = "r0"): string | undefined {
    if (choice === "none") return undefined;
    if (typeof choice === "string") return tokens.get(choice);
    const same = joinRoom.trim();
    const other = same === "r0" ? "r1" : "r0";
    const room = choice.room === "same" ? same : choice.room === "other" ? other : choice.room;
    return tokens.get(subOf(room, GRANTS[choice.grant] as Grant));
  }

  /** Connects a client (with `?token=` when given); ids are handed out in order. */
  async function seat(urlToken: TokenChoice = "none"): Promise<Seat> {
    const expected = `peer-${nextPeer + 1}`;
    const token = tokenText(urlToken);
    const query = token === undefined ? "" : `?token=${encodeURIComponent(token)}`;
    const client = await server.connect(`/ws${query}`);
    assert.equal(`peer-${nextPeer}`, expected);
    const view = { room: null, mates: new Set<string>(), role: null, locked: false, kicked: false };
    return { client, peerId: expected, ...view, pingsSent: 0, pongsSeen: 0 };
  }

  /** Checks one received frame against the protocol and updates the client's view. */
  function receive(s: Seat, text: string): void {
    const parsed = serverMessageSchema.safeParse(JSON.parse(text));
    assert.ok(parsed.success, `invalid server frame to ${s.peerId}: ${text.slice(0, 300)}`);
    const m = parsed.data;
    const kind = m.type === "error" ? `error:${m.code}` : m.type;
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    const where = `${s.peerId} (in ${s.room}) got ${text.slice(0, 200)}`;
    assert.ok(!s.kicked, `nothing may follow kicked: ${where}`);
    switch (m.type) {
      case "joined": {
        assert.equal(m.peerId, s.peerId);
        assert.equal(m.peers, m.peerIds.length);
        const spec = SPECS.get(m.userId ?? "");
        assert.ok(spec, `joined without a known token: ${where}`);
        assert.ok(spec.room === "*" || spec.room === m.roomId, `token for another room: ${where}`);
        assert.equal(m.role, spec.role, where);
        Object.assign(s, {
          room: m.roomId,
          mates: new Set(m.peerIds),
          role: spec.role,
          locked: m.locked === true,
        });
        // Only a host gets into a locked room.
        if (m.locked === true) assert.equal(spec.role, "host", where);
        joinedRooms.set(s.peerId, (joinedRooms.get(s.peerId) ?? new Set()).add(m.roomId));
        return;
      }
      case "left":
      case "kicked":
      case "full": // names the room it could not join; the one it was in, it left
        if (m.type !== "full") assert.equal(m.roomId, s.room, where);
        Object.assign(s, { room: null, mates: new Set(), role: null, kicked: m.type === "kicked" });
        return;
      case "locked":
      case "unlocked":
        assert.equal(m.roomId, s.room, where);
        s.locked = m.type === "locked";
        return;
      case "pong":
        s.pongsSeen++;
        return;
      case "error":
        if (m.code === "not-in-room") assert.equal(s.room, null, where);
        if (m.message === "only a host can do that") {
          assert.ok(s.room !== null && s.role !== "host", where);
        }
        return;
      case "peer-joined":
        assert.ok(s.room !== null, where);
        announced.push({ peerId: m.peerId, roomId: s.room });
        s.mates.add(m.peerId);
        return;
      case "peer-left":
        assert.ok(s.room !== null, where);
        assert.ok(s.mates.delete(m.peerId), `peer-left for one not in the room: ${where}`);
        return;
      case "offer":
      case "answer":
      case "ice":
      case "message": {
        // A relay reaches only members of its sender's room: the receiver is
        // in a room, and the sender is one of its members at this point of
        // the receiver's own (ordered) frames.
        assert.ok(s.room !== null, where);
        const mates = [...s.mates].join(", ") || "none";
        assert.ok(
          s.mates.has(m.from),
          `a relay from outside the room (members: ${mates}): ${where}`,
        );
        const addressed = (m as Record<string, unknown>).to;
        if (addressed !== undefined) assert.equal(addressed, s.peerId, `misaddressed: ${where}`);
        return;
      }
      default:
        // ready reaches members only.
        assert.ok(s.room !== null, where);
    }
  }

  function send(s: Seat, message: Record<string, unknown>): void {
    if (message.type === "ping") s.pingsSent++;
    s.client.send(message);
  }

  /** Reads every frame up to the reply to this client's last ping, or up to `kicked`. */
  async function drain(s: Seat): Promise<void> {
    while (!s.kicked && s.pongsSeen < s.pingsSent) receive(s, await s.client.nextText());
  }

  function resolve(seats: Seat[], from: Seat, t: Target): string | undefined {
    if (t === null) return undefined;
    if ("mate" in t) {
      const others = seats.filter((s) => s !== from);
      const mates = others.filter((s) => s.room !== null && s.room === from.room);
      const pool = mates.length > 0 ? mates : others;
      return pool[t.mate % pool.length]?.peerId;
    }
    if ("peer" in t) return seats[t.peer]?.peerId;
    return t.id;
  }

  /** Closes a seat's socket (cleanly or not), reads what it got, and connects a new one. */
  async function reconnect(seats: Seat[], c: Command & { kind: "reconnect" }): Promise<void> {
    const s = seats[c.client] as Seat;
    // A socket the server closed (kicked) goes when the server cuts it.
    if (!s.client.isOpen) await s.client.closed();
    else if (c.abrupt) await s.client.terminate();
    else await s.client.close();
    while (s.client.pending > 0) receive(s, await s.client.nextText());
    if (!s.kicked) walkedAway.add(s.peerId);
    dead.add(s.peerId);
    seats[c.client] = await seat(c.urlToken);
  }

  async function run(seats: Seat[], c: Command): Promise<void> {
    const hosts = seats.filter((h) => h.room !== null && h.role === "host");
    const useHost = "byHost" in c && c.byHost && hosts.length > 0;
    const s = (useHost ? hosts[c.client % hosts.length] : seats[c.client]) as Seat;
    switch (c.kind) {
      case "join": {
        const token = tokenText(c.token, c.roomId);
        return send(s, { type: "join", roomId: c.roomId, ...(token ? { token } : {}) });
      }
      case "leave":
      case "ping":
      case "lock":
      case "unlock":
        return send(s, { type: c.kind });
      case "kick":
        return send(s, { type: "kick", peerId: resolve(seats, s, c.target) });
      case "relay":
        return send(s, { type: c.type, to: resolve(seats, s, c.to), payload: c.payload });
      case "reconnect":
        return reconnect(seats, c);
    }
  }

  /** Two ping rounds: every client's own messages are handled, then all they caused is read. */
  async function pingRounds(seats: Seat[]): Promise<void> {
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        seats.map((s) => {
          if (!s.kicked) send(s, { type: "ping" });
          return drain(s);
        }),
      );
    }
  }

  /**
   * How many kicked sockets the server may still hold. It stops reading a
   * socket it closes, so it cuts a kicked one only after its close grace
   * period (1 s), not on the client's close reply; the client sees the close
   * then, and the server counts it out a moment later (callers retry). The
   * closed ones are checked and forgotten.
   */
  async function lingering(): Promise<number> {
    for (const s of kickedSeats.filter((k) => k.client.ws.readyState === k.client.ws.CLOSED)) {
      assert.equal((await s.client.closed()).code, CLOSE_CODES.kicked, `${s.peerId} was kicked`);
      assert.equal(s.client.pending, 0, `nothing may follow kicked to ${s.peerId}`);
      kickedSeats.splice(kickedSeats.indexOf(s), 1);
    }
    return kickedSeats.length;
  }

  /** Waits until the server has acted on everything sent and all it caused is read. */
  async function quiesce(seats: Seat[]): Promise<void> {
    await pingRounds(seats);
    for (const [i, s] of seats.entries()) {
      if (!s.kicked) continue;
      kickedSeats.push(s);
      dead.add(s.peerId);
      seats[i] = await seat();
    }
    // Closed sockets are cleaned up on the server's schedule; nothing tells a client when.
    // Open: ours, and at most the kicked ones still closing.
    await eventually(async () => {
      const closing = await lingering();
      const count = server.app.connections();
      assert.ok(count >= CLIENTS && count <= CLIENTS + closing, `${count} open, ${closing} kicked`);
      for (const room of rooms?.snapshot() ?? []) {
        for (const m of room.members) assert.ok(!dead.has(m.peerId), `${m.peerId} is gone`);
      }
    });
    await pingRounds(seats);
  }

  async function checkInvariants(seats: Seat[]): Promise<void> {
    const snapshot = rooms?.snapshot() ?? [];
    // The process answers, and its counters agree with the rooms (sockets: see quiesce).
    const health = await fetch(`${server.httpUrl}/healthz`);
    const body = (await health.json()) as Record<string, unknown>;
    const members = snapshot.reduce((n, room) => n + room.members.length, 0);
    assert.deepEqual([body.status, body.rooms, body.members], ["ok", snapshot.length, members]);

    const live = new Map(seats.map((s) => [s.peerId, s]));
    const roomOf = new Map<string, string>();
    for (const room of snapshot) {
      assert.ok(room.members.length > 0, `room ${room.roomId} is empty`);
      assert.ok(room.members.length <= room.capacity, `room ${room.roomId} is over capacity`);
      for (const member of room.members) {
        const s = live.get(member.peerId);
        assert.ok(s, `${member.peerId} in ${room.roomId} is not connected (kicked or gone)`);
        assert.ok(!roomOf.has(member.peerId), `${member.peerId} is in two rooms`);
        roomOf.set(member.peerId, room.roomId);
        assert.equal(member.role, s.role, `${member.peerId}'s role in ${room.roomId}`);
        assert.equal(room.locked, s.locked, `${room.roomId}'s lock as ${member.peerId} was told`);
      }
    }
    for (const s of seats) {
      assert.equal(roomOf.get(s.peerId) ?? null, s.room, `${s.peerId}'s own view of its room`);
    }
    // Others hear of a member only once it was told it joined (or walked away meanwhile).
    for (const { peerId, roomId } of announced.splice(0)) {
      if (walkedAway.has(peerId)) continue;
      assert.ok(
        joinedRooms.get(peerId)?.has(roomId),
        `${peerId} was announced in ${roomId} but never told it joined`,
      );
    }
  }

  let commands = 0;
  /** One run: fresh clients, each batch sent at once, then quiesced and checked. */
  async function runScenario(batches: Command[][]): Promise<void> {
    const seats: Seat[] = [];
    dead.clear();
    announced.length = 0;
    for (let i = 0; i < CLIENTS; i++) seats.push(await seat());
    try {
      for (const batch of batches) {
        for (const c of batch) await run(seats, c);
        // Then every client relays once while the batch's joins, kicks and
        // leaves may still be in flight: receive() checks each relay reaches
        // only members of its sender's room.
        for (const s of seats) if (s.client.isOpen) send(s, { type: "message", data: "everyone" });
        commands += batch.length;
        await quiesce(seats);
        await checkInvariants(seats);
      }
    } finally {
      // Kicked sockets close on the server's schedule, during the next runs.
      await Promise.all(
        seats.map((s) => (s.client.isOpen ? s.client.close() : s.client.terminate())),
      );
      await eventually(async () => {
        const closing = await lingering();
        const open = server.app.connections();
        assert.ok(
          open <= closing,
          `${open} sockets open after the run, ${closing} kicked ones closing`,
        );
        assert.deepEqual(rooms?.snapshot(), []);
      });
    }
  }

  it("a member kicked while its join is in flight does not land in the new room", () =>
    runScenario(KNOWN));

  it(`holds for ${NUM_RUNS} random runs of up to 30 commands on ${CLIENTS} clients`, async () => {
    await fc.assert(fc.asyncProperty(scenario, runScenario), {
      numRuns: NUM_RUNS,
      includeErrorInReport: true,
      // A failure shrinks through runs that each take a while; report the best
      // found by then. Running out of time before NUM_RUNS runs is a failure
      // too (not a silent pass on a slow machine): the runs take about 6 s
      // here, a tenth of the limit.
      plugins: [fc.interruptAfterTimeLimit(60_000, { failOnInterrupt: true })],
    });
    console.log(
      `property-hosts: ${commands} commands; server frames seen: ${JSON.stringify(Object.fromEntries(seen))}`,
    );
  });
});
