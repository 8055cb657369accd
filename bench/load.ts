/**
 * Load generator, run as its own process by bench/run.ts. Opens `pairs`
 * rooms of two on the target (loopback only), then measures:
 *  - throughput: every member sends `messages` ice messages to its peer,
 *    with at most `window` unacknowledged per sender;
 *  - latency: `rounds` offer -> answer round trips per pair through the relay.
 * Every loop is bounded in count, and the whole run by `deadlineMs`.
 */
import WebSocket from "ws";

interface Args {
  url: string;
  pairs: number;
  messages: number;
  rounds: number;
  window: number;
  payloadBytes: number;
  deadlineMs: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
if (!/^ws:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(args.url)) {
  throw new Error(`load targets loopback only, not ${args.url}`);
}
const deadline = Date.now() + args.deadlineMs;
setTimeout(() => {
  process.stderr.write("load: deadline reached\n");
  process.exit(3);
}, args.deadlineMs).unref();

type Msg = { type: string; [k: string]: unknown };

class Client {
  readonly ws: WebSocket;
  readonly waiters: ((m: Msg) => boolean)[] = [];
  onRelay: (m: Msg) => void = () => {};

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      if (m.type === "ice" || m.type === "offer" || m.type === "answer" || m.type === "message") {
        this.onRelay(m);
        return;
      }
      const i = this.waiters.findIndex((w) => w(m));
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  waitFor(type: string): Promise<Msg> {
    return new Promise((resolve) => {
      this.waiters.push((m) => {
        if (m.type !== type) return false;
        resolve(m);
        return true;
      });
    });
  }

  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
}

const candidate = `candidate:842163049 1 udp 1677729535 127.0.0.1 ${"5".repeat(Math.max(1, args.payloadBytes - 60))} typ srflx`;

async function main(): Promise<void> {
  const clients: [Client, Client][] = [];
  for (let i = 0; i < args.pairs; i++) {
    const a = new Client(args.url);
    const b = new Client(args.url);
    await Promise.all([a.open(), b.open()]);
    const room = `bench-${process.pid}-${i}`;
    const aReady = a.waitFor("ready");
    const bReady = b.waitFor("ready");
    a.send({ type: "join", roomId: room });
    b.send({ type: "join", roomId: room });
    await Promise.all([aReady, bReady]);
    clients.push([a, b]);
  }

  // Throughput: both members of every pair send `messages` ice messages.
  const started = process.hrtime.bigint();
  await Promise.all(clients.flatMap(([a, b]) => [stream(a, b), stream(b, a)]));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const relayed = args.pairs * 2 * args.messages;

  // Latency: offer -> answer round trips, one pair at a time in parallel.
  const rtts: number[] = [];
  await Promise.all(
    clients.map(async ([a, b]) => {
      b.onRelay = (m) => {
        if (m.type === "offer") b.send({ type: "answer", sdp: m.sdp });
      };
      for (let r = 0; r < args.rounds && Date.now() < deadline; r++) {
        const t0 = process.hrtime.bigint();
        await new Promise<void>((resolve) => {
          a.onRelay = (m) => {
            if (m.type === "answer") resolve();
          };
          a.send({ type: "offer", sdp: `v=0 round ${r}` });
        });
        rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  rtts.sort((x, y) => x - y);
  const pct = (p: number) =>
    rtts[Math.min(rtts.length - 1, Math.floor((p / 100) * rtts.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ relayed, seconds, perSecond: relayed / seconds, p50: pct(50), p99: pct(99), sockets: args.pairs * 2 })}\n`,
  );
  for (const [a, b] of clients) {
    a.ws.close();
    b.ws.close();
  }
}

/** Sends `messages` ice frames from `from` to `to`, keeping at most `window` in flight. */
function stream(from: Client, to: Client): Promise<void> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = 0;
    const pump = () => {
      while (sent < args.messages && sent - received < args.window) {
        from.send({
          type: "ice",
          candidate: { candidate, sdpMid: "0", sdpMLineIndex: 0 },
          n: sent,
        });
        sent++;
      }
    };
    const previous = to.onRelay;
    to.onRelay = (m) => {
      if (m.type !== "ice") return previous(m);
      received++;
      if (received === args.messages) resolve();
      else pump();
    };
    pump();
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`load: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
