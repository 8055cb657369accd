/**
 * One client process of the idle-connections scenario (bench/idle.ts): it
 * holds `count` WebSockets to one server (loopback only), socket j in room
 * `idle-<(offset + j) / 2>`, so the parent can spread the sockets over
 * several processes (each has a hard limit of 20,000 open files) and every
 * room of 2 still lands in one of them. Talks to the parent in JSON lines:
 *
 *  - prints `{"kind":"loaded"}` once running, then waits for `open` on stdin
 *    (so the parent reads the server's CPU and RSS with the clients' start-up
 *    already behind it);
 *  - on `open`: opens the sockets, at most `inFlight` between connect and
 *    `joined` at once (so the server's accept backlog of 511 is not overrun
 *    by all processes together), each sending its `join` (with `token`, if
 *    given) as soon as it is open; then waits until every room whose two
 *    members joined is `ready` on both; prints `{"kind":"joined",...}` with
 *    counts of everything that failed. Nothing is retried: a failure is
 *    counted, never hidden;
 *  - on `close` (or SIGTERM, or stdin ending): closes every socket, prints
 *    `{"kind":"closed",...}` (how many dropped while held) and exits.
 *
 * The whole run is bounded by `deadlineMs`.
 */
import { createInterface } from "node:readline";
import WebSocket from "ws";

export interface IdleLoadArgs {
  url: string;
  count: number;
  /** Index of this process's first socket among all the parent's (even: rooms stay whole). */
  offset: number;
  token?: string;
  inFlight: number;
  /** For one connect, and again for one `joined`. */
  stepTimeoutMs: number;
  deadlineMs: number;
}

export interface IdleJoined {
  kind: "joined";
  count: number;
  opened: number;
  joined: number;
  /** Sockets that got `ready` (both members of their room are in). */
  ready: number;
  failures: { connect: number; join: number; ready: number; dropped: number };
  /** `error` frames by code, and anything unexpected in place of `joined`. */
  errors: Record<string, number>;
  /** From `open` to the last `ready`. */
  ms: number;
  /** This process's CPU over the same span. */
  cpuMs: number;
}

export interface IdleClosed {
  kind: "closed";
  /** Sockets that closed on their own between `joined` and `close`. */
  droppedWhileHeld: number;
  /** Sockets whose close handshake had to be cut short. */
  terminated: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as IdleLoadArgs;
if (!/^ws:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(args.url)) {
  throw new Error(`idle-load targets loopback only, not ${args.url}`);
}
if (args.offset % 2 !== 0 || args.count % 2 !== 0) {
  throw new Error("idle-load needs an even offset and count: rooms of 2 must stay whole");
}
const deadline = Date.now() + args.deadlineMs;
setTimeout(() => {
  process.stderr.write("idle-load: deadline reached\n");
  process.exit(3);
}, args.deadlineMs).unref();

const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const errors: Record<string, number> = {};
const failures = { connect: 0, join: 0, ready: 0, dropped: 0 };

interface Socket {
  ws: WebSocket;
  opened: boolean;
  joined: boolean;
  ready: boolean;
  /** We started the close: a close after this is not a drop. */
  closing: boolean;
}

const sockets: Socket[] = [];
let holding = false;
let droppedWhileHeld = 0;

/** Opens socket j and joins it; resolves once `joined` came or the step failed (counted). */
function openAndJoin(j: number): Promise<void> {
  const room = `idle-${(args.offset + j) >> 1}`;
  const join =
    args.token === undefined
      ? `{"type":"join","roomId":"${room}"}`
      : `{"type":"join","roomId":"${room}","token":"${args.token}"}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(args.url);
    const s: Socket = { ws, opened: false, joined: false, ready: false, closing: false };
    sockets[j] = s;
    let step: "connect" | "join" | "done" = "connect";
    const fail = (why: "connect" | "join", code?: string) => {
      if (step !== why) return;
      step = "done";
      failures[why]++;
      if (code) errors[code] = (errors[code] ?? 0) + 1;
      clearTimeout(timer);
      s.closing = true;
      ws.terminate();
      resolve();
    };
    let timer = setTimeout(() => fail("connect", "connect-timeout"), args.stepTimeoutMs);
    ws.on("error", (error: NodeJS.ErrnoException) => fail("connect", error.code ?? "ws-error"));
    ws.on("open", () => {
      s.opened = true;
      clearTimeout(timer);
      step = "join";
      timer = setTimeout(() => fail("join", "joined-timeout"), args.stepTimeoutMs);
      ws.send(join);
    });
    ws.on("message", (data) => {
      let m: { type?: string; code?: string };
      try {
        m = JSON.parse(data.toString()) as typeof m;
      } catch {
        errors["not-json"] = (errors["not-json"] ?? 0) + 1;
        return;
      }
      if (m.type === "error") errors[String(m.code)] = (errors[String(m.code)] ?? 0) + 1;
      if (m.type === "ready") s.ready = true;
      if (step === "join") {
        if (m.type === "joined") {
          s.joined = true;
          step = "done";
          clearTimeout(timer);
          resolve();
        } else if (m.type === "error" || m.type === "full") {
          fail("join", m.type === "full" ? "full" : undefined);
        }
      }
    });
    ws.on("close", () => {
      if (step === "connect" || step === "join") fail(step, "closed");
      else if (!s.closing && s.joined) {
        if (holding) droppedWhileHeld++;
        else failures.dropped++;
      }
    });
  });
}

async function open(): Promise<IdleJoined> {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < args.count && Date.now() < deadline) await openAndJoin(next++);
  };
  await Promise.all(Array.from({ length: Math.min(args.inFlight, args.count) }, worker));
  // `ready` follows the second member's `joined`: give the last rooms a bounded moment.
  const pairReady = (i: number) => {
    const a = sockets[i];
    const b = sockets[i + 1];
    return !a?.joined || !b?.joined || (a.ready && b.ready);
  };
  const until = Date.now() + args.stepTimeoutMs;
  for (let i = 0; i < args.count; i += 2) {
    while (!pairReady(i) && Date.now() < until) await sleep(20);
  }
  let opened = 0;
  let joined = 0;
  let ready = 0;
  for (const s of sockets) {
    if (!s) continue;
    if (s.opened) opened++;
    if (s.joined) joined++;
    if (s.ready) ready++;
    else if (s.joined) failures.ready++;
  }
  const cpu = process.cpuUsage(cpu0);
  holding = true;
  return {
    kind: "joined",
    count: args.count,
    opened,
    joined,
    ready,
    failures,
    errors,
    ms: performance.now() - start,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

let closing = false;
async function closeAll(): Promise<void> {
  if (closing) return;
  closing = true;
  let terminated = 0;
  const live = sockets.filter((s) => s && s.ws.readyState !== s.ws.CLOSED);
  // Close handshakes in bounded batches: thousands at once would only queue.
  for (let i = 0; i < live.length; i += 500) {
    await Promise.all(
      live.slice(i, i + 500).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closing = true;
            if (s.ws.readyState === s.ws.CLOSED) return resolve();
            const timer = setTimeout(() => {
              terminated++;
              s.ws.terminate();
            }, 5000);
            s.ws.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
            s.ws.close(1000);
          }),
      ),
    );
  }
  const closed: IdleClosed = { kind: "closed", droppedWhileHeld, terminated };
  print(closed);
  process.exit(0);
}

process.on("SIGTERM", () => void closeAll());
const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (line.trim() === "open") {
    open().then(print, (error: unknown) => {
      process.stderr.write(`idle-load: ${(error as Error).stack}\n`);
      process.exit(1);
    });
  } else if (line.trim() === "close") void closeAll();
});
// The parent is gone: nobody will say `close`.
commands.on("close", () => void closeAll());
print({ kind: "loaded" });
