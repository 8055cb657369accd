/**
 * Fault scenario, run as its own process by bench/run.ts. It starts the
 * built server itself (it needs its logs and its heap), on 127.0.0.1, and
 * drives `rooms` rooms of 2 whose members each connect through their own
 * TCP proxy (test/helpers/tcp-proxy.ts, one per member, so a fault hits
 * exactly one member's connection):
 *  - steady traffic: every member sends numbered `message`s to its room at
 *    `ratePerSecond` and acks about once a second;
 *  - `drops` distinct members, at random moments, lose their connection:
 *    half severed (a reset both ways; the client sees it at once), half
 *    blackholed (bytes stop, nobody is told: only the server's heartbeat
 *    finds it on the server side; the client gives its socket up once it
 *    has heard nothing for `silentMs`). Each reconnects on a new socket,
 *    resumes, re-sends what `resumed.received` says the server missed and
 *    drops replayed frames it already processed by `seq`;
 *  - fresh connect+join probes at random moments, the baseline a resume is
 *    compared with;
 *  - afterwards every receiver must hold every numbered message of its peer
 *    exactly once, in order.
 * Server-side detection is read from the server's own debug log ("socket
 * dropped" with outcome "parked", and its timestamp); `/healthz` is sampled for the parked count.
 * Then the memory a parked member costs is measured in the server process:
 * heap after a forced full GC (through the inspector, --inspect on
 * 127.0.0.1) with no members, with `rooms`*2 connected members holding a
 * replay window of `windowFrames` unacknowledged frames, and with the same
 * members parked. Loopback only; every loop is bounded in count and time;
 * the server is stopped by its pid. Prints one JSON line (FaultResult).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { TcpProxy } from "../test/helpers/tcp-proxy.js";

interface Args {
  /** dist/server/cli.js */
  cli: string;
  /** The server's environment (PORT=0 and HOST=127.0.0.1 are forced). */
  env: Record<string, string>;
  rooms: number;
  ratePerSecond: number;
  ackEveryMs: number;
  drops: number;
  /** Fresh connect+join probes during the traffic (the resume latency's baseline). */
  probes: number;
  trafficMs: number;
  /** A client that has heard nothing (no frame, no ping) for this long gives its socket up. */
  silentMs: number;
  /** Unacknowledged frames each member holds in the memory measurement. */
  windowFrames: number;
  payloadBytes: number;
  seed: number;
  deadlineMs: number;
}

/** Min / median / max / p99 of a sample, in ms. */
export interface Spread {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FaultResult {
  members: number;
  heartbeatMs: number;
  graceMs: number;
  severed: number;
  blackholed: number;
  /** Blackhole -> "member parked" in the server's log. */
  detectBlackhole: Spread;
  /** Sever -> "member parked". */
  detectSever: Spread;
  /** Drops whose member was taken over by its resume before the server parked it. */
  notParked: number;
  peakParked: number;
  resumesTried: number;
  resumesOk: number;
  /** Reconnects nobody asked for (a socket closed outside the planned drops). */
  unplannedReconnects: number;
  /** New socket -> `resumed` received. */
  resume: Spread;
  /** New socket -> `joined`, fresh members probing under the same load. */
  join: Spread;
  /** Drop -> `resumed`, per kind (what a user of the call would wait). */
  outageSever: Spread;
  outageBlackhole: Spread;
  framesReplayed: number;
  framesResent: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Frames dropped by `seq` (already processed); normal, not end-to-end duplicates. */
  droppedBySeq: number;
  seqGaps: number;
  peerLeft: number;
  errors: Record<string, number>;
  memory: {
    members: number;
    windowFrames: number;
    windowBytes: number;
    heapIdleMb: number;
    heapConnectedMb: number;
    heapParkedMb: number;
    /** ArrayBuffer memory (outside the heap): sockets' buffers, replay slabs. */
    arrayBuffersIdleMb: number;
    arrayBuffersParkedMb: number;
    rssIdleMb: number;
    rssParkedMb: number;
    /** Heap and ArrayBuffers grown per member: replay windows keep busy members' frames in slabs. */
    connectedKb: number;
    parkedKb: number;
  };
  seconds: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const startedAt = Date.now();
let server: ChildProcess | null = null;
// Whatever happens, the server goes with us (by its pid).
process.on("exit", () => {
  if (server?.pid !== undefined && server.exitCode === null) process.kill(server.pid, "SIGKILL");
});
setTimeout(() => {
  process.stderr.write("fault: deadline reached\n");
  process.exit(3);
}, args.deadlineMs).unref();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: a seeded generator, so a run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(args.seed);

function spread(xs: number[]): Spread {
  const s = [...xs].sort((x, y) => x - y);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { n: s.length, min: s[0] ?? 0, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? 0 };
}

/** Waits until `check()` holds, polling; false when `ms` passed first. */
async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(25);
  }
  return check();
}

type Msg = { type: string; seq?: number; [k: string]: unknown };

// ---- the server -------------------------------------------------------------

interface ServerHandle {
  child: ChildProcess;
  port: number;
  inspectorUrl: string;
  /** peerId -> times (ms since epoch) it was parked, from the server's log. */
  parkedAt: Map<string, number[]>;
}

async function startServer(): Promise<ServerHandle> {
  const child = spawn(process.execPath, ["--inspect=127.0.0.1:0", args.cli], {
    env: { ...process.env, ...args.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "debug" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server = child;
  const parkedAt = new Map<string, number[]>();
  let port = 0;
  let inspectorUrl = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start in 15 s")), 15_000);
    const check = () => {
      if (port && inspectorUrl) {
        clearTimeout(timer);
        resolve();
      }
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let log: { msg?: string; url?: string; peerId?: string; time?: number; outcome?: string };
      try {
        log = JSON.parse(line);
      } catch {
        return;
      }
      // The connection's debug line for a dropped socket whose member it parked.
      if (log.msg === "socket dropped" && log.outcome === "parked" && log.peerId && log.time) {
        const times = parkedAt.get(log.peerId) ?? [];
        times.push(log.time);
        parkedAt.set(log.peerId, times);
      } else if (log.url && !port) {
        port = Number(new URL(log.url).port);
        check();
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
      const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(line)?.[1];
      if (url) {
        inspectorUrl = url;
        check();
      } else if (!line.startsWith("For help, see") && !line.startsWith("Debugger ")) {
        process.stderr.write(`server: ${line}\n`);
      }
    });
    child.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
  });
  await ready;
  return { child, port, inspectorUrl, parkedAt };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(child.pid, "SIGTERM");
  if (!(await Promise.race([exited.then(() => true), sleep(12_000).then(() => false)]))) {
    process.kill(child.pid, "SIGKILL");
    await exited;
  }
  server = null;
}

async function health(port: number): Promise<{ connections: number; parked: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return (await res.json()) as { connections: number; parked: number };
}

interface ServerMemory {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

/** The server's memory after a forced full GC, through its inspector (loopback). */
async function serverMemory(url: string): Promise<ServerMemory> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const pending = new Map<number, (m: { result?: unknown }) => void>();
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: unknown }>((resolve) => {
      const i = ++id;
      pending.set(i, resolve);
      ws.send(JSON.stringify({ id: i, method, params }));
    });
  try {
    // Twice: the first full GC can leave what weak references and
    // finalizers only let go of in the next.
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    const reply = (await call("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    })) as { result?: { result?: { value?: string } } };
    const usage = JSON.parse(reply.result?.result?.value ?? "{}") as ServerMemory;
    return { heapUsed: usage.heapUsed, arrayBuffers: usage.arrayBuffers, rss: usage.rss };
  } finally {
    ws.close();
  }
}

// ---- a resuming member, written from the protocol page ----------------------

type DropKind = "sever" | "blackhole";
type State = "joining" | "live" | "down" | "resuming" | "failed" | "gone";

const padding = "x".repeat(Math.max(0, args.payloadBytes - 40));

class FaultMember {
  readonly index: number;
  readonly roomId: string;
  readonly proxy: TcpProxy;
  peer: FaultMember | null = null;
  ws: WebSocket | null = null;
  state: State = "joining";
  peerId = "";
  resumeToken = "";
  /** Highest `seq` processed, and the highest acked. */
  lastSeq = 0;
  lastAcked = 0;
  /** Frames sent since `joined` that the server may not have read: absolute numbers base, base+1, … */
  frames: string[] = [];
  base = 0;
  /** Next message number to send, and the next expected from the peer. */
  nextN = 0;
  expected = 0;
  lastHeard = Date.now();
  /** performance.now() when the last `resumed` was handled. */
  resumedAt = 0;
  /** When the current drop happened (ms since the epoch, as the server logs), and of which kind. */
  droppedAt = 0;
  dropKind: DropKind | null = null;
  stats = { received: 0, duplicated: 0, lost: 0, outOfOrder: 0, droppedBySeq: 0, seqGaps: 0 };
  #onJoined: ((m: Msg) => void) | null = null;
  #onResumed: ((ok: boolean) => void) | null = null;
  /** Memory phase: relayed frames received and their bytes. */
  windowFrames = 0;
  windowBytes = 0;

  constructor(index: number, roomId: string, proxy: TcpProxy) {
    this.index = index;
    this.roomId = roomId;
    this.proxy = proxy;
  }

  /** Opens a socket through this member's proxy; rejects after 5 s. */
  async #open(): Promise<WebSocket> {
    const ws = new WebSocket(this.proxy.wsUrl());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connect timed out")), 5000);
      ws.once("open", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    ws.on("error", () => undefined);
    ws.on("ping", () => {
      if (ws === this.ws) this.lastHeard = Date.now();
    });
    ws.on("message", (data) => {
      if (ws === this.ws) this.#receive(JSON.parse(data.toString()) as Msg, data.toString());
    });
    ws.on("close", (code) => {
      if (ws !== this.ws) return;
      if (this.state === "live") {
        if (this.dropKind === null) run.unplannedReconnects++;
        if (this.dropKind === null) process.stderr.write(`fault: unplanned close ${code}\n`);
        void this.reconnect();
      }
    });
    this.ws = ws;
    this.lastHeard = Date.now();
    return ws;
  }

  /** Connects and joins; returns connect+join -> `joined` in ms. */
  async join(): Promise<number> {
    const t0 = performance.now();
    const ws = await this.#open();
    const joined = new Promise<Msg>((resolve) => {
      this.#onJoined = resolve;
    });
    ws.send(JSON.stringify({ type: "join", roomId: this.roomId }));
    const m = await joined;
    this.peerId = String(m.peerId);
    this.resumeToken = String(m.resumeToken);
    this.state = "live";
    return performance.now() - t0;
  }

  /** Sends (and keeps, for a re-send) one frame; written only while live. */
  send(message: object): void {
    const text = JSON.stringify(message);
    this.frames.push(text);
    if (this.state === "live") this.ws?.send(text);
  }

  sendMessage(): void {
    if (this.state === "failed" || this.state === "gone") return;
    this.send({ type: "message", data: { n: this.nextN++, pad: padding } });
  }

  ack(): void {
    if (this.state !== "live" || this.lastSeq <= this.lastAcked) return;
    this.lastAcked = this.lastSeq;
    this.send({ type: "ack", seq: this.lastSeq });
  }

  #receive(m: Msg, raw: string): void {
    this.lastHeard = Date.now();
    if (m.type === "resumed") {
      this.#resumed(m);
      return;
    }
    if (m.type === "joined") this.#onJoined?.(m);
    if (typeof m.seq === "number") {
      if (m.seq <= this.lastSeq) {
        this.stats.droppedBySeq++;
        return;
      }
      if (m.seq !== this.lastSeq + 1) this.stats.seqGaps++;
      this.lastSeq = m.seq;
    }
    switch (m.type) {
      case "message": {
        const n = (m.data as { n: number }).n;
        this.stats.received++;
        this.windowFrames++;
        this.windowBytes += Buffer.byteLength(raw);
        if (n === this.expected) this.expected++;
        else if (n < this.expected) this.stats.duplicated++;
        else {
          this.stats.outOfOrder++;
          this.stats.lost += n - this.expected;
          this.expected = n + 1;
        }
        return;
      }
      case "peer-left":
        run.peerLeft++;
        return;
      case "error": {
        const code = String(m.code);
        run.errors[code] = (run.errors[code] ?? 0) + 1;
        if (this.state === "resuming") this.#onResumed?.(false);
        return;
      }
      default:
        return;
    }
  }

  /**
   * `resumed`, handled at once (before the replayed frames behind it):
   * the first `received` frames were read, the rest go again, in order;
   * `frames` keeps them until a later `resumed` says they were read.
   */
  #resumed(m: Msg): void {
    if (this.state !== "resuming") return;
    const read = Number(m.received);
    const missed = read - this.base;
    if (!Number.isInteger(read) || missed < 0 || missed > this.frames.length) {
      process.stderr.write(`fault: member ${this.index}: received ${m.received} out of range\n`);
      this.#onResumed?.(false);
      return;
    }
    this.frames.splice(0, missed);
    this.base = read;
    for (const text of this.frames) this.ws?.send(text);
    run.framesResent += this.frames.length;
    run.framesReplayed += Number(m.seq) - this.lastSeq;
    this.state = "live";
    this.resumedAt = performance.now();
    this.#onResumed?.(true);
  }

  /** A planned fault: cut (both ways, a reset) or blackhole this member's connection. */
  drop(kind: DropKind): void {
    this.dropKind = kind;
    this.droppedAt = Date.now();
    if (kind === "sever") this.proxy.sever();
    else this.proxy.blackhole();
  }

  /** Gives the socket up and resumes on a new one (bounded retries). */
  async reconnect(): Promise<void> {
    if (this.state !== "live") return;
    this.state = "down";
    const old = this.ws;
    this.ws = null;
    old?.terminate();
    run.resumesTried++;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await sleep(100 * attempt);
      const t0 = performance.now();
      let ws: WebSocket;
      try {
        ws = await this.#open();
      } catch {
        continue;
      }
      this.state = "resuming";
      const reply = new Promise<boolean>((resolve) => {
        this.#onResumed = resolve;
        setTimeout(() => resolve(false), 5000);
      });
      ws.send(
        JSON.stringify({
          type: "resume",
          peerId: this.peerId,
          resumeToken: this.resumeToken,
          lastSeq: this.lastSeq,
        }),
      );
      const ok = await reply;
      this.#onResumed = null;
      if (!ok) {
        this.state = "failed";
        process.stderr.write(`fault: member ${this.index} could not resume\n`);
        return;
      }
      run.resumesOk++;
      run.resumeMs.push(this.resumedAt - t0);
      if (this.dropKind) {
        // droppedAt is epoch ms (as the server logs); resumedAt is performance.now().
        const droppedAt = this.droppedAt - performance.timeOrigin;
        (this.dropKind === "sever" ? run.outageSever : run.outageBlackhole).push(
          this.resumedAt - droppedAt,
        );
      }
      this.dropKind = null;
      return;
    }
    this.state = "failed";
    process.stderr.write(`fault: member ${this.index} could not reconnect\n`);
  }

  /** Leaves for good with a close frame (the server forgets it at once). */
  close(): void {
    this.state = "gone";
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }
}

const run = {
  resumesTried: 0,
  resumesOk: 0,
  unplannedReconnects: 0,
  framesResent: 0,
  framesReplayed: 0,
  peerLeft: 0,
  errors: {} as Record<string, number>,
  resumeMs: [] as number[],
  outageSever: [] as number[],
  outageBlackhole: [] as number[],
};

/** Joins `rooms` rooms of 2, one after the other, each member through its own proxy. */
async function joinRooms(proxies: TcpProxy[], tag: string): Promise<FaultMember[]> {
  const members: FaultMember[] = [];
  for (let r = 0; r < args.rooms; r++) {
    const roomId = `fault-${tag}-${process.pid}-${r}`;
    const a = new FaultMember(2 * r, roomId, proxies[2 * r] as TcpProxy);
    const b = new FaultMember(2 * r + 1, roomId, proxies[2 * r + 1] as TcpProxy);
    a.peer = b;
    b.peer = a;
    await a.join();
    await b.join();
    members.push(a, b);
  }
  return members;
}

async function main(): Promise<void> {
  const srv = await startServer();
  const proxies: TcpProxy[] = [];
  for (let i = 0; i < args.rooms * 2; i++) proxies.push(await TcpProxy.start(srv.port));
  const heartbeatMs = Number(args.env.HEARTBEAT_INTERVAL_MS ?? 10_000);
  const graceMs = Number(args.env.RESUME_GRACE_MS ?? 20_000);

  // Every room is full before any traffic: nothing is relayed to an empty room.
  const members = await joinRooms(proxies, "t");

  // /healthz: the parked count, sampled.
  let peakParked = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakParked = Math.max(peakParked, (await health(srv.port)).parked);
      await sleep(100);
    }
  })();

  // Steady traffic: numbered messages at a fixed rate, acks about once a second.
  const timers: NodeJS.Timeout[] = [];
  const period = 1000 / args.ratePerSecond;
  for (const m of members) {
    const phase = random() * period;
    const ackPhase = random() * args.ackEveryMs;
    timers.push(
      setTimeout(() => {
        timers.push(setInterval(() => m.sendMessage(), period));
      }, phase),
      setTimeout(() => {
        timers.push(setInterval(() => m.ack(), args.ackEveryMs));
      }, ackPhase),
    );
  }
  // A client gives up a socket it has heard nothing on (no frame, no ping) for silentMs.
  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const m of members) {
      if (m.state === "live" && now - m.lastHeard > args.silentMs) void m.reconnect();
    }
  }, 100);

  // The drops: distinct members, random moments, half severed, half blackholed.
  const order = [...members];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as FaultMember, order[i] as FaultMember];
  }
  const victims = order.slice(0, args.drops);
  const kinds = victims.map((_, i): DropKind => (i % 2 === 0 ? "sever" : "blackhole"));
  const firstDrop = 1500;
  // The last drop leaves time for detection (2 heartbeats), the client's own
  // silence timeout and the resume before the traffic stops.
  const lastDrop = args.trafficMs - (2 * heartbeatMs + args.silentMs + 1000);
  const drops = victims.map((m, i) => ({
    m,
    kind: kinds[i] as DropKind,
    at: firstDrop + random() * (lastDrop - firstDrop),
  }));
  for (const d of drops) timers.push(setTimeout(() => d.m.drop(d.kind), d.at));

  // Baseline: fresh members connect and join (alone) at random moments, then leave.
  const probeMs: number[] = [];
  const probeProxy = await TcpProxy.start(srv.port);
  const probes = Array.from({ length: args.probes }, (_, i) =>
    sleep(500 + random() * (args.trafficMs - 1000)).then(async () => {
      const probe = new FaultMember(-1, `fault-probe-${process.pid}-${i}`, probeProxy);
      probeMs.push(await probe.join());
      probe.close();
    }),
  );

  await sleep(args.trafficMs);
  for (const t of timers) {
    clearTimeout(t);
    clearInterval(t);
  }
  await Promise.all(probes);
  // Quiesce: every member back and every sent message delivered (bounded).
  const delivered = () =>
    members.every(
      (m) =>
        m.state === "failed" ||
        (m.state === "live" && m.expected === (m.peer as FaultMember).nextN),
    );
  if (!(await until(delivered, 15_000))) {
    process.stderr.write("fault: not everything delivered within 15 s of the traffic's end\n");
  }
  clearInterval(watchdog);
  sampling = false;
  await sampler;

  const detectBlackhole: number[] = [];
  const detectSever: number[] = [];
  let notParked = 0;
  for (const d of drops) {
    const parked = srv.parkedAt.get(d.m.peerId)?.find((t) => t >= d.m.droppedAt);
    if (parked === undefined || d.m.droppedAt === 0) {
      notParked++;
      continue;
    }
    (d.kind === "sever" ? detectSever : detectBlackhole).push(parked - d.m.droppedAt);
  }

  let sent = 0;
  let received = 0;
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let droppedBySeq = 0;
  let seqGaps = 0;
  for (const m of members) {
    const from = m.peer as FaultMember;
    sent += from.nextN;
    received += m.stats.received;
    // Gaps seen on the way, plus whatever never came at all.
    lost += m.stats.lost + Math.max(0, from.nextN - m.expected);
    duplicated += m.stats.duplicated;
    outOfOrder += m.stats.outOfOrder;
    droppedBySeq += m.stats.droppedBySeq;
    seqGaps += m.stats.seqGaps;
  }

  // ---- memory: idle, connected with windows, parked ----
  for (const m of members) m.close();
  await until(async () => {
    const h = await health(srv.port);
    return h.connections === 0 && h.parked === 0;
  }, 5000);
  await sleep(200);
  const idle = await serverMemory(srv.inspectorUrl);
  const held = await joinRooms(proxies, "m");
  for (const m of held) m.windowFrames = m.windowBytes = 0;
  // Each member sends windowFrames messages; nobody acks, so each window holds them.
  for (let i = 0; i < args.windowFrames; i++) {
    for (const m of held) m.sendMessage();
    await sleep(5);
  }
  await until(() => held.every((m) => m.windowFrames >= args.windowFrames), 10_000);
  const windowBytes = held.reduce((n, m) => n + m.windowBytes, 0) / Math.max(1, held.length);
  const connected = await serverMemory(srv.inspectorUrl);
  for (const m of held) {
    m.state = "gone";
    m.proxy.sever();
  }
  const allParked = await until(async () => (await health(srv.port)).parked === held.length, 5000);
  if (!allParked) process.stderr.write("fault: not every member was parked for the memory step\n");
  const parkedMem = await serverMemory(srv.inspectorUrl);

  await stopServer(srv.child);
  for (const p of [...proxies, probeProxy]) await p.close();

  const n = held.length;
  const mb = (b: number) => b / 1024 / 1024;
  const used = (m: ServerMemory) => m.heapUsed + m.arrayBuffers;
  const result: FaultResult = {
    members: members.length,
    heartbeatMs,
    graceMs,
    severed: kinds.filter((k) => k === "sever").length,
    blackholed: kinds.filter((k) => k === "blackhole").length,
    detectBlackhole: spread(detectBlackhole),
    detectSever: spread(detectSever),
    notParked,
    peakParked,
    resumesTried: run.resumesTried,
    resumesOk: run.resumesOk,
    unplannedReconnects: run.unplannedReconnects,
    resume: spread(run.resumeMs),
    join: spread(probeMs),
    outageSever: spread(run.outageSever),
    outageBlackhole: spread(run.outageBlackhole),
    framesReplayed: run.framesReplayed,
    framesResent: run.framesResent,
    sent,
    delivered: received,
    lost,
    duplicated,
    outOfOrder,
    droppedBySeq,
    seqGaps,
    peerLeft: run.peerLeft,
    errors: run.errors,
    memory: {
      members: n,
      windowFrames: args.windowFrames,
      windowBytes,
      heapIdleMb: mb(idle.heapUsed),
      heapConnectedMb: mb(connected.heapUsed),
      heapParkedMb: mb(parkedMem.heapUsed),
      arrayBuffersIdleMb: mb(idle.arrayBuffers),
      arrayBuffersParkedMb: mb(parkedMem.arrayBuffers),
      rssIdleMb: mb(idle.rss),
      rssParkedMb: mb(parkedMem.rss),
      connectedKb: (used(connected) - used(idle)) / 1024 / n,
      parkedKb: (used(parkedMem) - used(idle)) / 1024 / n,
    },
    seconds: (Date.now() - startedAt) / 1000,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`fault: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
