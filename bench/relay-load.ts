/**
 * The relay load generator of `npm run bench` (the steady, saturation,
 * cluster and webhooks scenarios), run as its own process; the servers it
 * targets are other processes (loopback only). Three modes, one JSON line
 * on stdout:
 *
 *  - `relay`: `pairs.length` rooms of 2, member a on `pairs[i].a`, member b
 *    on `pairs[i].b` (the same node or two different ones). Open loop: the
 *    a's send `rate` messages a second in all, on a fixed schedule whatever
 *    the replies do (message k is due at t0 + k/rate and goes to pair
 *    k % pairs); each pair's every 10th message is an `offer` of a real
 *    SDP's size, the others `ice` candidates. Each b echoes an `ice` and
 *    answers an `offer` with an `answer` of the same size, so a round trip
 *    is two relays. A round trip is timed from the message's scheduled
 *    moment (no coordinated omission). Every member acks once a second, as
 *    the SDK does. CPU (utime + stime from /proc/<pid>/stat) of the server
 *    processes and of redis-server is read at the start and the end of the
 *    measured window, which follows a warm-up; relayed frames are counted
 *    as received by the members in the same window.
 *  - `saturate`: the same rooms and frames, closed loop: each a keeps
 *    `window` round trips in flight and sends the next as soon as one
 *    comes back, for `warmupMs + measureMs`; relayed frames and CPU are
 *    counted over the measured window. CPU per relayed message at the most
 *    the server can carry.
 *  - `joins`: a join storm, `rounds` times: `clients` sockets are opened
 *    (client j on `urls[j % urls.length]`, so the 2 members of a room are
 *    on different nodes when there are several), then every client sends
 *    `join` at once, clients 2i and 2i+1 to room i; timed until every
 *    client has `joined` and every room is `ready`. CPU is read around the
 *    joins only (not the connects).
 *
 * Every loop is bounded in count, and the whole run by `deadlineMs`.
 */
import WebSocket from "ws";
import { cpuMs } from "./targets.js";

interface RelayArgs {
  mode: "relay" | "saturate";
  /** `saturate`: round trips each pair keeps in flight. */
  window?: number;
  /** Sent as `token` with every join (a server that checks join tokens). */
  token?: string;
  pairs: { a: string; b: string }[];
  /** Messages a second sent by the a's in all (the echoes come on top). */
  rate: number;
  offerEvery: number;
  iceBytes: number;
  offerBytes: number;
  warmupMs: number;
  measureMs: number;
  /** How long to wait for the last replies after the schedule ends. */
  drainMs: number;
  ackEveryMs: number;
  pids: { nodes: number[]; redis: number | null };
  clockTicks: number;
  deadlineMs: number;
}

interface JoinArgs {
  mode: "joins";
  token?: string;
  urls: string[];
  clients: number;
  rounds: number;
  pids: { nodes: number[]; redis: number | null };
  clockTicks: number;
  deadlineMs: number;
}

export interface RelayResult {
  /** Round trips scheduled in the measured window. */
  scheduled: number;
  answered: number;
  unanswered: number;
  p50: number;
  p99: number;
  max: number;
  offerP50: number;
  offerP99: number;
  /** Relayed frames received (both directions) in the CPU window. */
  relayed: number;
  seconds: number;
  nodeCpuMs: number;
  redisCpuMs: number;
  loadCpuMs: number;
  /** Latest a send went out after its scheduled moment (the generator's own lag). */
  maxSendLagMs: number;
  iceBytes: number;
  offerBytes: number;
  errors: Record<string, number>;
}

export interface JoinResult {
  clients: number;
  rounds: number;
  /** Per round: clients / (last `joined` - first `join` sent). */
  joinsPerSecond: number[];
  /** Join sent -> `joined`, over every round. */
  p50: number;
  p99: number;
  /** First join sent -> every room `ready`, per round (ms). */
  allReadyMs: number[];
  joins: number;
  nodeCpuMs: number;
  redisCpuMs: number;
  failures: number;
  errors: Record<string, number>;
}

type Args = RelayArgs | JoinArgs;
type Msg = { type: string; seq?: number; id?: number; code?: string; [k: string]: unknown };

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const urls = args.mode !== "joins" ? args.pairs.flatMap((p) => [p.a, p.b]) : args.urls;
for (const url of urls) {
  if (!/^ws:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(url)) {
    throw new Error(`relay-load targets loopback only, not ${url}`);
  }
}
const deadline = Date.now() + args.deadlineMs;
setTimeout(() => {
  process.stderr.write("relay-load: deadline reached\n");
  process.exit(3);
}, args.deadlineMs).unref();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();
const errors: Record<string, number> = {};

function cpuSample(pids: { nodes: number[]; redis: number | null }, ticks: number) {
  return {
    nodes: pids.nodes.reduce((sum, pid) => sum + cpuMs(pid, ticks), 0),
    redis: pids.redis === null ? 0 : cpuMs(pids.redis, ticks),
    load: (() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    })(),
  };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

class Member {
  readonly ws: WebSocket;
  /** Highest `seq` seen (acked now and then, as the SDK does). */
  seq = 0;
  acked = 0;
  onFrame: (m: Msg, text: string) => void = () => {};
  readonly #waiters: ((m: Msg) => boolean)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on("error", () => undefined);
    this.ws.on("message", (data) => {
      const text = data.toString();
      const m = JSON.parse(text) as Msg;
      if (typeof m.seq === "number" && m.seq > this.seq) this.seq = m.seq;
      if (m.type === "error") {
        const code = String(m.code ?? "unknown");
        errors[code] = (errors[code] ?? 0) + 1;
      }
      const i = this.#waiters.findIndex((w) => w(m));
      if (i >= 0) this.#waiters.splice(i, 1);
      this.onFrame(m, text);
    });
  }

  /** Resolves once the socket is open (listened for from the start, so never missed). */
  open(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === this.ws.OPEN) return resolve();
      const timer = setTimeout(() => reject(new Error("connect timed out")), timeoutMs);
      this.ws.once("open", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** The next frame of one of `types`; rejects after `timeoutMs`. */
  next(types: string[], timeoutMs: number): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const waiter = (m: Msg) => {
        if (!types.includes(m.type)) return false;
        clearTimeout(timer);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no ${types.join("/")} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  send(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  ack(): void {
    if (this.seq > this.acked) {
      this.acked = this.seq;
      this.send(`{"type":"ack","seq":${this.seq}}`);
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once("close", () => resolve()));
    const timer = setTimeout(() => this.ws.terminate(), 3000);
    this.ws.close(1000);
    await closed;
    clearTimeout(timer);
  }
}

// ---- realistic frames ------------------------------------------------------

/** An srflx candidate as Chrome trickles it, padded (in the foundation's digits) to `bytes` for a 5-digit id. */
function iceTemplate(bytes: number): (id: number) => string {
  const make = (pad: string) =>
    `{"type":"ice","candidate":{"candidate":"candidate:${pad} 1 udp 1685987071 203.0.113.77 61012 typ srflx raddr 192.168.1.23 rport 61012 generation 0 ufrag Xb3q network-id 1 network-cost 10","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xb3q"},"id":`;
  const base = make("").length + 5 + 1;
  const head = make("8421630491".padEnd(Math.max(1, bytes - base), "7"));
  return (id) => `${head}${id}}`;
}

/** A WebRTC session description (audio + video, Chrome-like lines) of about `bytes` as JSON. */
function sdp(bytes: number, setup: "actpass" | "active"): string {
  const head = [
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS 3b1f6a0e-5c2d-4f8e-9a71-2d0c4b6e8f13",
  ];
  const media = (mid: number, kind: string) => [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF ${kind === "audio" ? "111 63 9 0 8 13 110 126" : "96 97 98 99 100 101 35 36 37 38 102 103 104 105"}`,
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:Xb3q",
    "a=ice-pwd:4d8Zq0yH1t5s2BvLk9mNpQrX",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
    `a=setup:${setup}`,
    `a=mid:${mid}`,
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "a=sendrecv",
    `a=msid:3b1f6a0e-5c2d-4f8e-9a71-2d0c4b6e8f13 ${kind}-7c9e2a41`,
    "a=rtcp-mux",
    "a=rtcp-rsize",
  ];
  const codecs = [
    "a=rtpmap:111 opus/48000/2",
    "a=rtcp-fb:111 transport-cc",
    "a=fmtp:111 minptime=10;useinbandfec=1",
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 goog-remb",
    "a=rtcp-fb:96 transport-cc",
    "a=rtcp-fb:96 ccm fir",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:96 nack pli",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=rtpmap:98 VP9/90000",
    "a=fmtp:98 profile-id=0",
    "a=rtpmap:102 H264/90000",
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  ];
  const lines = [...head, ...media(0, "audio"), ...media(1, "video")];
  // Enough codec lines to reach the size, then cut at a line end.
  for (let i = 0; i < 200 && JSON.stringify(lines.join("\r\n")).length < bytes; i++) {
    lines.push(codecs[i % codecs.length] as string);
  }
  while (lines.length > 1 && JSON.stringify(`${lines.join("\r\n")}\r\n`).length > bytes)
    lines.pop();
  return `${lines.join("\r\n")}\r\n`;
}

// ---- relay -----------------------------------------------------------------

/** The frames of a relay run, built once. */
function frames(a: RelayArgs) {
  const ice = iceTemplate(a.iceBytes);
  const sdpBytes = a.offerBytes - `{"type":"offer","sdp":,"id":00000}`.length;
  const offerHead = `{"type":"offer","sdp":${JSON.stringify(sdp(sdpBytes, "actpass"))},"id":`;
  const answerHead = `{"type":"answer","sdp":${JSON.stringify(sdp(sdpBytes, "active"))},"id":`;
  return { ice, offerHead, answerHead };
}

/** Opens the rooms of 2, every member joined (with the token, if any) and `ready`. */
async function openPairs(a: RelayArgs): Promise<[Member, Member][]> {
  const pairs: [Member, Member][] = [];
  const token = a.token === undefined ? {} : { token: a.token };
  await Promise.all(
    a.pairs.map(async (p, i) => {
      const ma = new Member(p.a);
      const mb = new Member(p.b);
      await Promise.all([ma.open(), mb.open()]);
      const room = `relay-${process.pid}-${i}`;
      const ready = Promise.all([ma.next(["ready"], 10_000), mb.next(["ready"], 10_000)]);
      ma.send(JSON.stringify({ type: "join", roomId: room, ...token }));
      mb.send(JSON.stringify({ type: "join", roomId: room, ...token }));
      await ready;
      pairs[i] = [ma, mb];
    }),
  );
  return pairs;
}

/** Each b echoes an `ice` and answers an `offer` (same size); `count` sees every relayed frame. */
function echoing(mb: Member, f: ReturnType<typeof frames>, count: () => void): void {
  mb.onFrame = (m) => {
    if (typeof m.id !== "number") return;
    count();
    if (m.type === "offer") mb.send(`${f.answerHead}${m.id}}`);
    else if (m.type === "ice") mb.send(f.ice(m.id));
  };
}

/** Acks: each member about once every `everyMs`, spread over the period. */
function acking(members: Member[], everyMs: number): NodeJS.Timeout {
  let turn = 0;
  const slots = 20;
  return setInterval(() => {
    const slot = turn++ % slots;
    for (let i = slot; i < members.length; i += slots) members[i]?.ack();
  }, everyMs / slots);
}

async function relay(a: RelayArgs): Promise<RelayResult> {
  const f = frames(a);
  const { ice, offerHead } = f;
  const pairs = await openPairs(a);
  if (a.mode === "saturate") return saturate(a, pairs, f);
  const members = pairs.flat();
  const P = pairs.length;

  const total = Math.floor((a.rate * (a.warmupMs + a.measureMs)) / 1000);
  const interval = 1000 / a.rate;
  const scheduledAt = new Float64Array(total);
  const rtt = new Float64Array(total).fill(-1);
  const isOffer = new Uint8Array(total);
  let received = 0;
  let maxSendLagMs = 0;

  for (const [ma, mb] of pairs) {
    echoing(mb, f, () => received++);
    ma.onFrame = (m) => {
      if (typeof m.id !== "number" || m.id < 0 || m.id >= total) return;
      received++;
      if (rtt[m.id] === -1) rtt[m.id] = now() - (scheduledAt[m.id] as number);
    };
  }

  const t0 = now() + 50;
  for (let k = 0; k < total; k++) {
    scheduledAt[k] = t0 + k * interval;
    const pair = k % P;
    const nth = Math.floor(k / P);
    isOffer[k] = (nth + pair) % a.offerEvery === a.offerEvery - 1 ? 1 : 0;
  }
  const measureFrom = t0 + a.warmupMs;
  const measureTo = measureFrom + a.measureMs;

  const acker = acking(members, a.ackEveryMs);

  // CPU at the window's edges.
  let before: ReturnType<typeof cpuSample> | null = null;
  let after: ReturnType<typeof cpuSample> | null = null;
  let receivedBefore = 0;
  let receivedAfter = 0;
  let windowStart = 0;
  let windowEnd = 0;
  const edges = new Promise<void>((resolve) => {
    setTimeout(
      () => {
        before = cpuSample(a.pids, a.clockTicks);
        receivedBefore = received;
        windowStart = now();
        setTimeout(
          () => {
            after = cpuSample(a.pids, a.clockTicks);
            receivedAfter = received;
            windowEnd = now();
            resolve();
          },
          Math.max(0, measureTo - now()),
        );
      },
      Math.max(0, measureFrom - now()),
    );
  });

  // The open-loop schedule: whatever is due goes out now.
  await new Promise<void>((resolve) => {
    let k = 0;
    const tick = () => {
      const t = now();
      while (k < total && (scheduledAt[k] as number) <= t) {
        const [ma] = pairs[k % P] as [Member, Member];
        ma.send(isOffer[k] ? `${offerHead}${k}}` : ice(k));
        maxSendLagMs = Math.max(maxSendLagMs, t - (scheduledAt[k] as number));
        k++;
      }
      if (k >= total || Date.now() > deadline) return resolve();
      setTimeout(tick, Math.max(0, (scheduledAt[k] as number) - now()));
    };
    setTimeout(tick, Math.max(0, t0 - now()));
  });
  await edges;
  // The last replies (bounded).
  const drainEnd = now() + a.drainMs;
  let first = 0;
  while (now() < drainEnd) {
    while (first < total && (rtt[first] as number) >= 0) first++;
    if (first >= total) break;
    await sleep(20);
  }
  clearInterval(acker);

  const all: number[] = [];
  const offers: number[] = [];
  let scheduled = 0;
  for (let k = 0; k < total; k++) {
    const s = scheduledAt[k] as number;
    if (s < measureFrom || s >= measureTo) continue;
    scheduled++;
    const r = rtt[k] as number;
    if (r < 0) continue;
    all.push(r);
    if (isOffer[k]) offers.push(r);
  }
  all.sort((x, y) => x - y);
  offers.sort((x, y) => x - y);
  await Promise.all(members.map((m) => m.close()));
  const b = before as unknown as ReturnType<typeof cpuSample>;
  const e = after as unknown as ReturnType<typeof cpuSample>;
  return {
    scheduled,
    answered: all.length,
    unanswered: scheduled - all.length,
    p50: pct(all, 0.5),
    p99: pct(all, 0.99),
    max: all.at(-1) ?? 0,
    offerP50: pct(offers, 0.5),
    offerP99: pct(offers, 0.99),
    relayed: receivedAfter - receivedBefore,
    seconds: (windowEnd - windowStart) / 1000,
    nodeCpuMs: e.nodes - b.nodes,
    redisCpuMs: e.redis - b.redis,
    loadCpuMs: e.load - b.load,
    maxSendLagMs,
    iceBytes: Buffer.byteLength(ice(10_000)),
    offerBytes: Buffer.byteLength(`${offerHead}10000}`),
    errors,
  };
}

/**
 * Closed loop: each a keeps `window` round trips in flight, the next sent
 * as one comes back; CPU and relayed frames over the measured window.
 */
async function saturate(
  a: RelayArgs,
  pairs: [Member, Member][],
  f: ReturnType<typeof frames>,
): Promise<RelayResult> {
  const members = pairs.flat();
  const window = a.window ?? 4;
  let received = 0;
  let nextId = 0;
  const rtts: number[] = [];
  const offers: number[] = [];
  let measuring = false;
  let running = true;
  for (const [ma, mb] of pairs) {
    echoing(mb, f, () => received++);
    const sentAt = new Map<number, { at: number; offer: boolean }>();
    let nth = 0;
    const send = () => {
      const id = nextId++;
      const offer = nth++ % a.offerEvery === a.offerEvery - 1;
      sentAt.set(id, { at: now(), offer });
      ma.send(offer ? `${f.offerHead}${id}}` : f.ice(id));
    };
    ma.onFrame = (m) => {
      if (typeof m.id !== "number") return;
      received++;
      const sent = sentAt.get(m.id);
      if (sent === undefined) return;
      sentAt.delete(m.id);
      if (measuring) {
        const rtt = now() - sent.at;
        rtts.push(rtt);
        if (sent.offer) offers.push(rtt);
      }
      if (running && Date.now() < deadline) send();
    };
    for (let i = 0; i < window; i++) send();
  }
  const acker = acking(members, a.ackEveryMs);
  await sleep(a.warmupMs);
  measuring = true;
  const before = cpuSample(a.pids, a.clockTicks);
  const receivedBefore = received;
  const windowStart = now();
  await sleep(a.measureMs);
  const after = cpuSample(a.pids, a.clockTicks);
  const relayed = received - receivedBefore;
  const windowEnd = now();
  measuring = false;
  running = false;
  await sleep(Math.min(a.drainMs, 1000));
  clearInterval(acker);
  await Promise.all(members.map((m) => m.close()));
  rtts.sort((x, y) => x - y);
  offers.sort((x, y) => x - y);
  return {
    scheduled: rtts.length,
    answered: rtts.length,
    unanswered: 0,
    p50: pct(rtts, 0.5),
    p99: pct(rtts, 0.99),
    max: rtts.at(-1) ?? 0,
    offerP50: pct(offers, 0.5),
    offerP99: pct(offers, 0.99),
    relayed,
    seconds: (windowEnd - windowStart) / 1000,
    nodeCpuMs: after.nodes - before.nodes,
    redisCpuMs: after.redis - before.redis,
    loadCpuMs: after.load - before.load,
    maxSendLagMs: 0,
    iceBytes: Buffer.byteLength(f.ice(10_000)),
    offerBytes: Buffer.byteLength(`${f.offerHead}10000}`),
    errors,
  };
}

// ---- join storm ------------------------------------------------------------

async function joins(a: JoinArgs): Promise<JoinResult> {
  const perSecond: number[] = [];
  const allReadyMs: number[] = [];
  const latencies: number[] = [];
  let nodeCpuMs = 0;
  let redisCpuMs = 0;
  let failures = 0;
  for (let r = 0; r < a.rounds && Date.now() < deadline; r++) {
    // Connect in batches of 100 (the connects are not what is measured).
    const clients: Member[] = [];
    for (let i = 0; i < a.clients; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, a.clients - i) },
        (_, k) => new Member(a.urls[(i + k) % a.urls.length] as string),
      );
      await Promise.all(batch.map((c) => c.open()));
      clients.push(...batch);
    }
    await sleep(300);
    const joined: Promise<Msg>[] = [];
    const ready: Promise<Msg>[] = [];
    const sentAt = new Float64Array(clients.length);
    const joinedAt = new Float64Array(clients.length);
    const before = cpuSample(a.pids, a.clockTicks);
    const start = now();
    clients.forEach((c, j) => {
      joined.push(
        c.next(["joined", "full", "error"], 30_000).then((m) => {
          joinedAt[j] = now();
          return m;
        }),
      );
      ready.push(c.next(["ready"], 30_000));
      sentAt[j] = now();
      c.send(
        a.token === undefined
          ? `{"type":"join","roomId":"storm-${process.pid}-${r}-${j >> 1}"}`
          : `{"type":"join","roomId":"storm-${process.pid}-${r}-${j >> 1}","token":"${a.token}"}`,
      );
    });
    const answers = await Promise.allSettled(joined);
    const readies = await Promise.allSettled(ready);
    const end = now();
    const after = cpuSample(a.pids, a.clockTicks);
    nodeCpuMs += after.nodes - before.nodes;
    redisCpuMs += after.redis - before.redis;
    let lastJoined = start;
    answers.forEach((answer, j) => {
      if (answer.status !== "fulfilled" || answer.value.type !== "joined") {
        failures++;
        return;
      }
      lastJoined = Math.max(lastJoined, joinedAt[j] as number);
      latencies.push((joinedAt[j] as number) - (sentAt[j] as number));
    });
    failures += readies.filter((x) => x.status !== "fulfilled").length;
    perSecond.push((clients.length * 1000) / (lastJoined - start));
    allReadyMs.push(end - start);
    await Promise.all(clients.map((c) => c.close()));
  }
  latencies.sort((x, y) => x - y);
  return {
    clients: a.clients,
    rounds: perSecond.length,
    joinsPerSecond: perSecond,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    allReadyMs,
    joins: latencies.length,
    nodeCpuMs,
    redisCpuMs,
    failures,
    errors,
  };
}

const run = args.mode === "joins" ? joins(args) : relay(args);
run.then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`relay-load: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
