import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ResumingClient } from "../helpers/resuming-client.js";
import { BULK_LIMITS, startTestServer, type TestServer } from "../helpers/server.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { TestClient } from "../helpers/test-client.js";

/** Messages each side sends in one run. */
const PER_SIDE = 40;

type Side = "a" | "b";
type Command =
  | { kind: "send"; side: Side; count: number }
  | { kind: "read"; side: Side; count: number }
  | { kind: "ack"; side: Side }
  /** A reset: both ends see the socket die at once. */
  | { kind: "sever"; side: Side }
  /** The network goes silent; the client gives up on the socket and resumes elsewhere. */
  | { kind: "blackhole"; side: Side };

const side = fc.constantFrom<Side>("a", "b");
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant("send" as const), side, count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("read" as const), side, count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("ack" as const), side }),
  fc.record({ kind: fc.constant("sever" as const), side }),
  fc.record({ kind: fc.constant("blackhole" as const), side }),
);

/**
 * Two members of a room exchange numbered messages while their
 * connections are cut at random points, in both directions, with frames
 * in flight each way: after every cut the client resumes on a new socket
 * (through the same proxy), re-sends what the server did not read, and
 * drops what it had already processed. Every message must arrive exactly
 * once, in order.
 */
describe("property: resume under random severs", () => {
  let server: TestServer;
  const proxies: TcpProxy[] = [];
  let run = 0;
  let cuts = 0;
  before(async () => {
    server = await startTestServer(BULK_LIMITS);
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await server.close();
  });

  it("loses nothing, duplicates nothing and keeps order, for 25 random runs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
        const roomId = `resume-${++run}`;
        const proxy = {
          a: await TcpProxy.start(server.app.port),
          b: await TcpProxy.start(server.app.port),
        };
        proxies.push(proxy.a, proxy.b);
        const connect = (s: Side) => () => TestClient.connect(proxy[s].wsUrl());
        const clients = {
          a: await ResumingClient.join(connect("a"), roomId),
          b: await ResumingClient.join(connect("b"), roomId),
        };
        const sent = { a: 0, b: 0 };
        const send = (s: Side, count: number) => {
          for (let i = 0; i < count && sent[s] < PER_SIDE; i++) {
            clients[s].send({ type: "message", data: { side: s, n: sent[s]++ } });
          }
        };
        const cut = async (s: Side, how: "sever" | "blackhole") => {
          cuts++;
          const old = clients[s].socket;
          if (how === "sever") proxy[s].sever();
          else proxy[s].blackhole();
          // Frames sent now go nowhere (severed) or into the void (blackholed).
          send(s, 2);
          if (how === "sever") await old.closed();
          const resumed = await clients[s].resume();
          assert.equal(resumed.type, "resumed", `resume of ${s}: ${JSON.stringify(resumed)}`);
          if (how === "blackhole") old.ws.terminate();
        };

        for (const c of commands) {
          const client = clients[c.side];
          if (c.kind === "send") send(c.side, c.count);
          else if (c.kind === "ack") client.ack();
          else if (c.kind === "read") {
            for (let i = 0; i < c.count && client.socket.pending > 0; i++) await client.next();
          } else await cut(c.side, c.kind);
        }
        send("a", PER_SIDE);
        send("b", PER_SIDE);

        // Read until each side has everything the other sent.
        for (const [me, other] of [
          ["a", "b"],
          ["b", "a"],
        ] as const) {
          const client = clients[me];
          const from = () =>
            client.received.filter((d) => (d as { side: Side }).side === other).length;
          while (from() < PER_SIDE) await client.next(5000);
          const got = client.received
            .filter((d) => (d as { side: Side }).side === other)
            .map((d) => (d as { n: number }).n);
          assert.deepEqual(
            got,
            Array.from({ length: PER_SIDE }, (_, i) => i),
            `${me} got`,
          );
          // Every relay came from the one other member of this run's room:
          // the receiver shares the sender's room, resumes or not.
          const senders = new Set(client.receivedFrom);
          assert.deepEqual(
            [...senders],
            [clients[other].peerId],
            `senders of what ${me} (${client.peerId}, in ${roomId}) received`,
          );
        }
        clients.a.socket.send({ type: "leave" });
        clients.b.socket.send({ type: "leave" });
        await clients.a.socket.close();
        await clients.b.socket.close();
        await proxy.a.close();
        await proxy.b.close();
      }),
      { numRuns: 25, endOnFailure: true },
    );
    console.log(`property: ${run} runs, ${cuts} connections cut and resumed`);
    assert.ok(cuts > 0, "no run cut a connection");
    assert.equal((await server.app.rooms.stats()).parked, 0);
  });
});
