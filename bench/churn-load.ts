/**
 * One client process of the join-storm and churn scenario (bench/churn.ts),
 * against one server on loopback. `loops` client loops run at once, each
 * over and over: open two WebSockets, join both into a new room of 2 (with
 * `token`, if given), wait for `ready` on both, close both with 1000 (a
 * clean leave: Signalroom keeps no parked member for it). Two modes:
 *
 *  - `storm`: a loop opens its next pair as soon as the room is `ready`;
 *    the closes finish behind it (at most 4 rooms closing per loop, so
 *    sockets cannot pile up). Counts rooms that reached `ready`.
 *  - `churn`: a loop waits for both close handshakes before its next room.
 *    Counts rooms completed (opened, joined, ready, closed).
 *
 * Talks to the parent in JSON lines: `{"kind":"loaded"}` once running; then
 * a line `{"startAt": <epoch ms>}` on stdin starts every loop at that
 * moment (the parent reads the server's CPU at the same moments); the
 * first `warmupMs` are not counted, the next `measureMs` are. Prints
 * `{"kind":"progress",...}` every `progressMs` (rooms completed so far,
 * for the leak check's x axis) and `{"kind":"done",...}` at the end, with
 * every failure counted (nothing is retried). Bounded by `deadlineMs`.
 */
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";

export interface ChurnLoadArgs {
  mode: "storm" | "churn";
  url: string;
  token?: string;
  loops: number;
  warmupMs: number;
  measureMs: number;
  progressMs: number;
  /** For a connect, for `ready`, and for a close handshake. */
  stepTimeoutMs: number;
  deadlineMs: number;
}

export interface ChurnProgress {
  kind: "progress";
  t: number;
  /** Rooms completed since the start, warm-up included. */
  completed: number;
}

export interface ChurnDone {
  kind: "done";
  /** Rooms whose both members got `ready` inside the measured window. */
  ready: number;
  /** Rooms closed (both handshakes done) inside the measured window. */
  completed: number;
  /** Rooms completed over the whole run, warm-up included. */
  completedAll: number;
  measureMs: number;
  failures: { connect: number; join: number; close: number };
  errors: Record<string, number>;
  /** This process's CPU over the measured window. */
  cpuMs: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as ChurnLoadArgs;
if (!/^ws:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(args.url)) {
  throw new Error(`churn-load targets loopback only, not ${args.url}`);
}
const deadline = Date.now() + args.deadlineMs;
setTimeout(() => {
  process.stderr.write("churn-load: deadline reached\n");
  process.exit(3);
}, args.deadlineMs).unref();

const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const errors: Record<string, number> = {};
const failures = { connect: 0, join: 0, close: 0 };
const count = (code: string) => {
  errors[code] = (errors[code] ?? 0) + 1;
};

/** A step that did not happen in time or went wrong, named by where. */
class StepFailed extends Error {
  constructor(
    readonly step: "connect" | "join",
    readonly code: string,
  ) {
    super(`${step}: ${code}`);
  }
}

const target = new URL(args.url);
const port = Number(target.port || 80);
const host = target.hostname.replace(/^\[|\]$/g, "");
// A fixed key: the client need not check the server's accept hash, only its 101.
const upgrade = Buffer.from(
  `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * A client frame, masked (as clients must) with the all-zero key, which
 * leaves the payload as it is: no per-byte work on our side.
 */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x80 | opcode, 0x80 | len, 0, 0, 0, 0])
      : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff, 0, 0, 0, 0]);
  return Buffer.concat([head, payload]);
}
const CLOSE_1000 = frame(0x8, Buffer.from([0x03, 0xe8]));

/**
 * One member over a bare TCP socket speaking just enough WebSocket (the
 * upgrade, masked text and close frames out; text, close and ping frames
 * in): the `ws` client's HTTP machinery and hashing cost more CPU per
 * connect than the servers under test spend on one, which made the
 * clients, not the servers, the limit on a 2-core machine. `ready`
 * resolves once `joined` and `ready` came, and rejects on anything else.
 */
class Member {
  readonly socket: Socket;
  readonly opened: Promise<void>;
  readonly ready: Promise<void>;
  readonly closed: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;
  #joined = false;
  #armJoin: () => void = () => undefined;

  constructor(timeoutMs: number) {
    const socket = connect({ host, port, noDelay: true });
    this.socket = socket;
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    let onOpen: () => void = () => undefined;
    let onText: (text: string) => void = () => undefined;
    this.opened = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StepFailed("connect", "connect-timeout")),
        timeoutMs,
      );
      onOpen = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new StepFailed("connect", error.code ?? "socket-error"));
      });
      socket.once("close", () => {
        clearTimeout(timer);
        reject(new StepFailed("connect", "closed"));
      });
    });
    this.ready = new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      // Armed once the join is sent, not from the connect.
      this.#armJoin = () => {
        timer = setTimeout(() => reject(new StepFailed("join", "ready-timeout")), timeoutMs);
      };
      onText = (text) => {
        let m: { type?: string; code?: string };
        try {
          m = JSON.parse(text) as typeof m;
        } catch {
          return count("not-json");
        }
        if (m.type === "joined") this.#joined = true;
        else if (m.type === "ready" && this.#joined) {
          clearTimeout(timer);
          resolve();
        } else if (m.type === "error" || m.type === "full") {
          clearTimeout(timer);
          reject(new StepFailed("join", m.type === "full" ? "full" : String(m.code)));
        }
      };
      socket.once("close", () => {
        clearTimeout(timer);
        reject(new StepFailed("join", "closed"));
      });
    });
    // Each is awaited only on some paths; an unawaited rejection must not end the process.
    this.opened.catch(() => undefined);
    this.ready.catch(() => undefined);
    socket.once("connect", () => socket.write(upgrade));
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
      if (!this.#upgraded) {
        const end = this.#buffer.indexOf(HEAD_END);
        if (end < 0) return;
        const status = this.#buffer.toString("latin1", 0, 12);
        if (status !== "HTTP/1.1 101") {
          count(`http-${status.slice(9, 12)}`);
          socket.destroy();
          return;
        }
        this.#upgraded = true;
        this.#buffer = this.#buffer.subarray(end + 4);
        onOpen();
      }
      this.#frames(onText);
    });
  }

  /** Reads every whole frame buffered (servers do not mask, nor fragment frames this small). */
  #frames(onText: (text: string) => void): void {
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const opcode = (b[0] as number) & 0x0f;
      let len = (b[1] as number) & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      const payload = b.subarray(at, at + len);
      this.#buffer = b.subarray(at + len);
      if (opcode === 0x1) onText(payload.toString());
      else if (opcode === 0x9) this.socket.write(frame(0xa, Buffer.from(payload)));
      // A close frame from the server: its FIN follows, and ours with it (no half-open).
    }
  }

  join(text: string): void {
    this.#armJoin();
    this.socket.write(frame(0x1, Buffer.from(text)));
  }

  /** A clean close (1000); cut (and counted) if the handshake stalls. */
  async close(timeoutMs: number): Promise<void> {
    if (this.socket.destroyed) return;
    const timer = setTimeout(() => {
      failures.close++;
      this.socket.destroy();
    }, timeoutMs);
    this.socket.write(CLOSE_1000);
    await this.closed;
    clearTimeout(timer);
  }
}

let completedAll = 0;
let ready = 0;
let completed = 0;

async function loop(id: number, from: number, to: number, end: number): Promise<void> {
  const inWindow = (t: number) => t >= from && t < to;
  const closing = new Set<Promise<void>>();
  for (let n = 0; Date.now() < end && Date.now() < deadline; n++) {
    const room = `${args.mode}-${process.pid}-${id}-${n}`;
    const join =
      args.token === undefined
        ? `{"type":"join","roomId":"${room}"}`
        : `{"type":"join","roomId":"${room}","token":"${args.token}"}`;
    const a = new Member(args.stepTimeoutMs);
    const b = new Member(args.stepTimeoutMs);
    try {
      await Promise.all([a.opened, b.opened]);
      a.join(join);
      b.join(join);
      await Promise.all([a.ready, b.ready]);
    } catch (error) {
      const e = error instanceof StepFailed ? error : new StepFailed("join", "unknown");
      failures[e.step]++;
      count(e.code);
      a.socket.destroy();
      b.socket.destroy();
      continue;
    }
    if (inWindow(Date.now())) ready++;
    const close = Promise.all([a.close(args.stepTimeoutMs), b.close(args.stepTimeoutMs)]).then(
      () => {
        completedAll++;
        if (inWindow(Date.now())) completed++;
      },
    );
    if (args.mode === "churn") {
      await close;
      continue;
    }
    closing.add(close);
    void close.then(() => closing.delete(close));
    if (closing.size >= 4) await Promise.race(closing);
  }
  await Promise.all(closing);
}

async function run(startAt: number): Promise<ChurnDone> {
  const from = startAt + args.warmupMs;
  const to = from + args.measureMs;
  const progress = setInterval(
    () => print({ kind: "progress", t: Date.now(), completed: completedAll }),
    args.progressMs,
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  let cpu0 = process.cpuUsage();
  let cpu1 = cpu0;
  const edges = [
    setTimeout(() => {
      cpu0 = process.cpuUsage();
    }, from - Date.now()),
    setTimeout(() => {
      cpu1 = process.cpuUsage();
    }, to - Date.now()),
  ];
  await Promise.all(Array.from({ length: args.loops }, (_, i) => loop(i, from, to, to)));
  clearInterval(progress);
  for (const timer of edges) clearTimeout(timer);
  if (cpu1 === cpu0) cpu1 = process.cpuUsage();
  const cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000;
  return {
    kind: "done",
    ready,
    completed,
    completedAll,
    measureMs: args.measureMs,
    failures,
    errors,
    cpuMs: cpu,
  };
}

const commands = createInterface({ input: process.stdin });
commands.once("line", (line) => {
  const { startAt } = JSON.parse(line) as { startAt: number };
  run(startAt).then(
    (done) => {
      print(done);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`churn-load: ${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
});
// The parent is gone: nobody will read the result.
commands.on("close", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
print({ kind: "loaded" });
