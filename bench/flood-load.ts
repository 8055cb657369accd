/**
 * Flood scenario, run as its own process by bench/run.ts: one pair measures
 * offer -> answer round trips, first on a quiet server, then while
 * `flooders` other connections send as fast as they can (reconnecting when
 * the server closes them). Loopback only; bounded by count and time.
 */
import WebSocket from "ws";

interface Args {
  url: string;
  rounds: number;
  flooders: number;
  /** Messages each flooder connection sends before giving up on it. */
  floodMessages: number;
  deadlineMs: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
if (!/^ws:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(args.url)) {
  throw new Error(`load targets loopback only, not ${args.url}`);
}
setTimeout(() => {
  process.stderr.write("flood-load: deadline reached\n");
  process.exit(3);
}, args.deadlineMs).unref();

type Msg = { type: string; [k: string]: unknown };

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function next(ws: WebSocket, type: string): Promise<Msg> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString()) as Msg;
      if (m.type !== type) return;
      ws.off("message", onMessage);
      resolve(m);
    };
    ws.on("message", onMessage);
  });
}

/** Round trips paced like call signaling (40 a second, under the default 50/s limit). */
async function rtts(a: WebSocket, b: WebSocket, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const t0 = process.hrtime.bigint();
    const answered = next(a, "answer");
    const offered = next(b, "offer");
    a.send(JSON.stringify({ type: "offer", sdp: `v=0 round ${r}` }));
    await offered;
    b.send(JSON.stringify({ type: "answer", sdp: "v=0" }));
    await answered;
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out.sort((x, y) => x - y);
}

const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

async function flood(
  id: number,
  stop: { done: boolean },
  stats: { sent: number; closed: number },
): Promise<void> {
  const payload = JSON.stringify({ type: "ice", candidate: { candidate: "x".repeat(200) } });
  while (!stop.done) {
    let ws: WebSocket;
    try {
      ws = await open(args.url);
    } catch {
      return;
    }
    ws.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.send(JSON.stringify({ type: "join", roomId: `flood-${process.pid}-${id}` }));
    for (let i = 0; i < args.floodMessages && !stop.done && ws.readyState === ws.OPEN; i++) {
      ws.send(payload);
      stats.sent++;
      // Yield now and then so the socket can notice the server closing it.
      if (i % 200 === 199) await new Promise((r) => setImmediate(r));
    }
    if (ws.readyState === ws.OPEN) ws.close();
    await closed;
    stats.closed++;
  }
}

async function main(): Promise<void> {
  const a = await open(args.url);
  const b = await open(args.url);
  const room = `measure-${process.pid}`;
  const ready = Promise.all([next(a, "ready"), next(b, "ready")]);
  a.send(JSON.stringify({ type: "join", roomId: room }));
  b.send(JSON.stringify({ type: "join", roomId: room }));
  await ready;

  const quiet = await rtts(a, b, args.rounds);
  const stop = { done: false };
  const stats = { sent: 0, closed: 0 };
  const flooders = Array.from({ length: args.flooders }, (_, i) => flood(i, stop, stats));
  await new Promise((r) => setTimeout(r, 200));
  const loud = await rtts(a, b, args.rounds);
  stop.done = true;
  await Promise.all(flooders);
  process.stdout.write(
    `${JSON.stringify({ quietP50: pct(quiet, 50), quietP99: pct(quiet, 99), floodP50: pct(loud, 50), floodP99: pct(loud, 99), floodSent: stats.sent, floodConnections: stats.closed })}\n`,
  );
  a.close();
  b.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`flood-load: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
