import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { manualClock } from "../helpers/clock.js";
import { delta, scrape as scrapeOne } from "../helpers/prometheus.js";
import { joinPair, startTestServer, type TestServer } from "../helpers/server.js";
import { eventually } from "../helpers/wait.js";

const TOKEN = "metrics-token-0123456789";

describe("GET /metrics", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { metricsToken: TOKEN, rateLimitBurst: 20, rateLimitCloseAfter: 5, resumeGraceMs: 20_000 },
      { clock: time.clock },
    );
  });
  afterEach(async () => server.closeClients());
  after(async () => server.close());

  const scrape = () => scrapeOne(server.httpUrl, TOKEN);

  it("requires the bearer token when one is set", async () => {
    const tries: Record<string, string>[] = [
      {},
      { Authorization: "Bearer wrong" },
      { Authorization: TOKEN },
    ];
    for (const headers of tries) {
      const res = await fetch(`${server.httpUrl}/metrics`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="metrics"');
      assert.doesNotMatch(await res.text(), /signalroom_/);
    }
    assert.equal((await fetch(`${server.httpUrl}/metrics`, { method: "POST" })).status, 405);
  });

  it("names every metric signalroom_*, with bounded labels, and the process metrics", async () => {
    const { families } = await scrape();
    for (const family of families) assert.match(family.name, /^signalroom_/, family.name);
    const names = new Set(families.map((f) => f.name));
    for (const name of [
      "signalroom_connections",
      "signalroom_rooms",
      "signalroom_members",
      "signalroom_parked",
      "signalroom_joins_total",
      "signalroom_relayed_frames_total",
      "signalroom_relayed_bytes_total",
      "signalroom_relay_seconds",
      "signalroom_errors_total",
      "signalroom_closes_total",
      "signalroom_limit_hits_total",
      "signalroom_resumes_total",
      "signalroom_process_cpu_seconds_total",
      "signalroom_process_resident_memory_bytes",
      "signalroom_nodejs_eventloop_lag_seconds",
    ]) {
      assert.ok(names.has(name), `${name} is missing`);
    }
  });

  it("moves by exactly what happened: a call, a refused join, a flood and a resume", async () => {
    const before = (await scrape()).samples;

    // A call: two joins, an offer, an answer, three candidates.
    const { a, b, aId, bId } = await joinPair(server, "metrics-call");
    a.send({ type: "offer", sdp: "v=0 offer", to: bId });
    await b.next("offer");
    b.send({ type: "answer", sdp: "v=0 answer" });
    await a.next("answer");
    for (let i = 0; i < 3; i++) a.send({ type: "ice", candidate: { candidate: `c${i}` } });
    for (let i = 0; i < 3; i++) await b.next("ice");

    // A refused join: the room is full.
    const third = await server.connect();
    third.send({ type: "join", roomId: "metrics-call" });
    await third.next("full");

    // A flood: the burst of 20 pings, then refusals until closed (5 within 10 s).
    const flooder = await server.connect();
    for (let i = 0; i < 40; i++) flooder.send({ type: "ping" });
    assert.equal((await flooder.closed()).code, 1008);

    // A resume: b's socket drops, and b comes back.
    const token = String(b.joinedMessage?.resumeToken);
    const lastSeq = b.lastSeq;
    await b.terminate();
    await eventually(async () => {
      assert.equal((await server.app.rooms.stats()).parked, 1, "b parked");
    });
    const again = await server.connect();
    again.send({ type: "resume", peerId: bId, resumeToken: token, lastSeq });
    await again.next("resumed");
    assert.ok(aId);

    await eventually(async () => {
      const moved = delta(before, (await scrape()).samples);
      const bytes = (type: string) => moved[`signalroom_relayed_bytes_total{type="${type}"}`] ?? 0;
      assert.ok(bytes("offer") > 0 && bytes("answer") > 0 && bytes("ice") > 0, "relayed bytes");
      const rest = Object.fromEntries(
        Object.entries(moved)
          .filter(([key]) => !key.startsWith("signalroom_process_"))
          .filter(([key]) => !key.startsWith("signalroom_nodejs_"))
          .filter(([key]) => !key.startsWith("signalroom_relayed_bytes_total"))
          // Handling times: how much is the machine's business.
          .filter(([key]) => !key.endsWith("_sum")),
      );
      assert.deepEqual(rest, {
        'signalroom_joins_total{result="ok"}': 2,
        'signalroom_joins_total{result="full"}': 1,
        'signalroom_relayed_frames_total{type="offer"}': 1,
        'signalroom_relayed_frames_total{type="answer"}': 1,
        'signalroom_relayed_frames_total{type="ice"}': 3,
        // Five relayed frames, each with the server's handling time observed.
        signalroom_relay_seconds_count: 5,
        // The flood: four refused, closed at the fifth (the rate-limited
        // answer queued behind the flood is never sent to a closing socket).
        'signalroom_limit_hits_total{limit="messages"}': 4,
        'signalroom_limit_hits_total{limit="flood-close"}': 1,
        'signalroom_closes_total{code="1008"}': 1,
        'signalroom_closes_total{code="1006"}': 1,
        'signalroom_resumes_total{result="ok"}': 1,
        // Now: a, b (resumed) and the third in no room.
        signalroom_connections: 3,
        signalroom_rooms: 1,
        signalroom_members: 2,
      });
    });
  });

  it("counts a client's own close code only when it is one the protocol knows", async () => {
    const before = (await scrape()).samples;
    const client = await server.connect();
    await client.close(4999);
    const known = await server.connect();
    await known.close(1000);
    await eventually(async () => {
      const moved = delta(before, (await scrape()).samples);
      assert.equal(moved['signalroom_closes_total{code="other"}'], 1, "4999 counted as other");
      assert.equal(moved['signalroom_closes_total{code="1000"}'], 1, "1000 counted as itself");
      assert.equal(moved['signalroom_closes_total{code="4999"}'], undefined);
    });
  });
});

describe("METRICS_PORT: /metrics off the public port", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ metricsPort: 0, metricsHost: "127.0.0.1" });
  });
  after(async () => server.close());

  it("serves /metrics on its own listener only", async () => {
    assert.equal((await fetch(`${server.httpUrl}/metrics`)).status, 404);
    const metricsUrl = server.app.metricsUrl;
    assert.ok(metricsUrl, "a metrics listener");
    assert.notEqual(metricsUrl, server.httpUrl);
    const res = await fetch(`${metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^# HELP signalroom_/m);
    assert.equal((await fetch(`${metricsUrl}/healthz`)).status, 404);
  });
});

describe("METRICS_PORT already in use", () => {
  it("refuses to start, naming the option, and leaves nothing running", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await assert.rejects(
        startTestServer({ metricsPort: port, metricsHost: "127.0.0.1" }),
        (error: Error) => {
          assert.equal(error.name, "ConfigError");
          assert.match(
            error.message,
            /^METRICS_PORT \/ --metrics-port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)$/,
          );
          return true;
        },
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
