/**
 * Idle-connections scenario of `npm run bench`: what a joined socket that
 * does nothing costs the server. For each contender (bench/targets.ts;
 * interleaved, the order rotated every run), a fresh server: its RSS and
 * CPU are read once it settled, then N WebSockets (BENCH_IDLE_SOCKETS,
 * default 19,500: the server's 20,000 open files less its own) are opened
 * and joined, sockets 2i and 2i+1 into room i, by client processes
 * (bench/idle-load.ts, at most 6,500 sockets each, since every process
 * here may open 20,000 files); once every socket has `joined` and every
 * room is `ready`, 2 s to settle, and RSS and CPU again. Memory per
 * connection is the RSS grown over the sockets joined; CPU per connection
 * the server's CPU over the same span (accepting, upgrading, joining,
 * and anything the server does per socket while it settles, such as
 * heartbeats) over the same count. RSS once more after 2 s of quiet
 * (in the notes).
 * Medians of BENCH_IDLE_RUNS runs (default 3); failures are counted and
 * shown, never retried.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { IdleClosed, IdleJoined, IdleLoadArgs } from "./idle-load.js";
import { type Row, row, type Section } from "./results.js";
import {
  type Contender,
  clockTicks,
  contenders,
  cpuMs,
  median,
  type Running,
  rssKb,
} from "./targets.js";

const root = join(import.meta.dirname, "..");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client process (bench/<script>) that speaks in JSON lines, each with a
 * `kind`, and takes commands on stdin; stopped by its pid.
 */
export class ClientProcess<L extends { kind: string }> {
  readonly #child: ChildProcess;
  readonly #queued: L[] = [];
  readonly #waiters = new Set<(line: L) => boolean>();
  readonly #listeners = new Map<string, (line: L) => void>();
  readonly #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(script: string, args: object) {
    this.#child = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "bench", script), JSON.stringify(args)],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    this.#exited = new Promise((resolve) =>
      this.#child.once("exit", (code) => {
        this.#exitCode = code;
        resolve(code);
      }),
    );
    // A parent that stops writing must not crash on a child that already left.
    this.#child.stdin?.on("error", () => undefined);
    createInterface({ input: this.#child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
      let line: L;
      try {
        line = JSON.parse(text) as L;
      } catch {
        return;
      }
      const listener = this.#listeners.get(line.kind);
      if (listener) return listener(line);
      for (const waiter of this.#waiters) if (waiter(line)) return;
      this.#queued.push(line);
    });
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** Every line of `kind` from now on goes to `listener` (not queued). */
  on<K extends L["kind"]>(kind: K, listener: (line: Extract<L, { kind: K }>) => void): void {
    this.#listeners.set(kind, listener as (line: L) => void);
  }

  /** The next line of `kind`; rejects after `timeoutMs` or if the process exits first. */
  next<K extends L["kind"]>(kind: K, timeoutMs: number): Promise<Extract<L, { kind: K }>> {
    const i = this.#queued.findIndex((l) => l.kind === kind);
    if (i >= 0) {
      const [line] = this.#queued.splice(i, 1);
      return Promise.resolve(line as Extract<L, { kind: K }>);
    }
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter = (line: L) => {
        if (line.kind !== kind) return false;
        done();
        resolve(line as Extract<L, { kind: K }>);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${kind} from pid ${this.pid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
      this.#exited.then((code) => {
        if (!this.#waiters.has(waiter)) return;
        done();
        reject(new Error(`pid ${this.pid} exited (${code}) before ${kind}`));
      });
    });
  }

  send(command: string): void {
    if (this.#exitCode === undefined) this.#child.stdin?.write(`${command}\n`);
  }

  /** SIGTERM by pid, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

type IdleLine = { kind: "loaded" } | IdleJoined | IdleClosed;

const SOCKETS = Number(process.env.BENCH_IDLE_SOCKETS ?? 19_500);
const RUNS = Number(process.env.BENCH_IDLE_RUNS ?? 3);
const PER_PROCESS = Number(process.env.BENCH_IDLE_PER_PROCESS ?? 6500);
/** Connects in flight over all client processes: under the server's listen backlog (511). */
const IN_FLIGHT = Number(process.env.BENCH_IDLE_IN_FLIGHT ?? 480);
const SETTLE_MS = 2000;

interface IdleRun {
  sockets: number;
  joined: number;
  rssBeforeKb: number;
  rssJoinedKb: number;
  rssQuietKb: number;
  cpuMs: number;
  /** `open` sent to the last process's `joined`. */
  openMs: number;
  loadCpuMs: number;
  failures: Record<string, number>;
  errors: Record<string, number>;
}

async function measure(c: Contender, sockets: number, ticks: number): Promise<IdleRun> {
  const server: Running = await c.start();
  const gens: ClientProcess<IdleLine>[] = [];
  try {
    await sleep(500);
    const rooms = sockets / 2;
    const processes = Math.ceil(sockets / PER_PROCESS);
    const roomsPer = Math.ceil(rooms / processes);
    const inFlight = Math.max(1, Math.min(200, Math.floor(IN_FLIGHT / processes)));
    for (let k = 0; k < processes; k++) {
      const first = k * roomsPer;
      const count = 2 * (Math.min(rooms, first + roomsPer) - first);
      if (count <= 0) break;
      const args: IdleLoadArgs = {
        url: server.wsUrl,
        count,
        offset: 2 * first,
        inFlight,
        stepTimeoutMs: 30_000,
        deadlineMs: 240_000,
        ...(c.token === undefined ? {} : { token: c.token }),
      };
      gens.push(new ClientProcess<IdleLine>("idle-load.ts", args));
    }
    await Promise.all(gens.map((g) => g.next("loaded", 30_000)));
    const rssBeforeKb = rssKb(server.pid);
    const cpuBefore = cpuMs(server.pid, ticks);
    const start = performance.now();
    for (const g of gens) g.send("open");
    const joined = await Promise.all(gens.map((g) => g.next("joined", 180_000)));
    const openMs = performance.now() - start;
    await sleep(SETTLE_MS);
    const rssJoinedKb = rssKb(server.pid);
    const cpuAfter = cpuMs(server.pid, ticks);
    await sleep(SETTLE_MS);
    const rssQuietKb = rssKb(server.pid);
    for (const g of gens) g.send("close");
    const closed = await Promise.all(gens.map((g) => g.next("closed", 60_000)));

    const failures: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const add = (into: Record<string, number>, key: string, n: number) => {
      if (n > 0) into[key] = (into[key] ?? 0) + n;
    };
    for (const j of joined) {
      for (const [k, n] of Object.entries(j.failures)) add(failures, k, n);
      for (const [k, n] of Object.entries(j.errors)) add(errors, k, n);
    }
    for (const x of closed) add(failures, "dropped while held", x.droppedWhileHeld);
    return {
      sockets,
      joined: joined.reduce((sum, j) => sum + j.joined, 0),
      rssBeforeKb,
      rssJoinedKb,
      rssQuietKb,
      cpuMs: cpuAfter - cpuBefore,
      openMs,
      loadCpuMs: joined.reduce((sum, j) => sum + j.cpuMs, 0),
      failures,
      errors,
    };
  } finally {
    await Promise.all(gens.map((g) => g.stop()));
    await server.stop();
  }
}

const perConnKb = (r: IdleRun) => (r.rssJoinedKb - r.rssBeforeKb) / Math.max(1, r.joined);
const perConnUs = (r: IdleRun) => (r.cpuMs * 1000) / Math.max(1, r.joined);
const failed = (r: IdleRun) => Object.values(r.failures).reduce((sum, n) => sum + n, 0);

export async function idle(): Promise<Section> {
  const sockets = SOCKETS - (SOCKETS % 2);
  const ticks = clockTicks();
  const all = await contenders();
  const order: Contender[] = [all.baseline, all.raw, all.signalroom];
  const runs: Record<Contender["key"], IdleRun[]> = { baseline: [], raw: [], signalroom: [] };
  for (let r = 0; r < RUNS; r++) {
    // Rotated, so no contender always goes first on a cold machine.
    for (let i = 0; i < order.length; i++) {
      const c = order[(i + r) % order.length] as Contender;
      runs[c.key].push(await measure(c, sockets, ticks));
    }
  }

  const med = (key: Contender["key"], f: (r: IdleRun) => number) => median(runs[key].map(f));
  const ratios = (f: (r: IdleRun) => number) =>
    runs.signalroom.map((s, i) => f(s) / f(runs.baseline[i] as IdleRun));
  const failureNote = (() => {
    const parts: string[] = [];
    for (const c of order) {
      runs[c.key].forEach((r, i) => {
        const n = failed(r);
        if (n === 0) return;
        const detail = Object.entries(r.failures).map(([k, v]) => `${k} ${v}`);
        const errs = Object.entries(r.errors).map(([k, v]) => `${k} ${v}`);
        parts.push(
          `${c.name} run ${i + 1}: ${n} of ${r.sockets} sockets failed (${detail.join(", ")}${errs.length ? `; ${errs.join(", ")}` : ""})`,
        );
      });
    }
    return parts.length ? `FAILURES: ${parts.join("; ")}` : undefined;
  })();
  const note = failureNote === undefined ? {} : { note: failureNote };
  const figure = (
    metric: string,
    f: (r: IdleRun) => number,
    target?: { kind: "max"; value: number },
  ): Row =>
    row(metric, med("baseline", f), med("signalroom", f), {
      raw: med("raw", f),
      runs: ratios(f),
      ...(target ? { target } : {}),
      ...note,
    });

  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const joinedText = (rs: IdleRun[]) => {
    const least = Math.min(...rs.map((r) => r.joined));
    return least === sockets
      ? `all ${sockets.toLocaleString("en")} joined`
      : `as few as ${least.toLocaleString("en")} of ${sockets.toLocaleString("en")} joined`;
  };
  const notes = order.map((c) => {
    const rs = runs[c.key];
    return (
      `- ${c.name}: RSS ${mb(median(rs.map((r) => r.rssBeforeKb)))} MB before, ` +
      `${mb(median(rs.map((r) => r.rssJoinedKb)))} MB joined, ` +
      `${mb(median(rs.map((r) => r.rssQuietKb)))} MB after 2 s more; ` +
      `${joinedText(rs)} in ${(median(rs.map((r) => r.openMs)) / 1000).toFixed(1)} s ` +
      `(client processes' CPU ${(median(rs.map((r) => r.loadCpuMs)) / 1000).toFixed(1)} s)` +
      `; per-run memory per connection ${rs.map((r) => perConnKb(r).toFixed(2)).join(", ")} KB`
    );
  });
  if (failureNote) notes.push(`- ${failureNote}`);

  return {
    id: "idle",
    title: `Idle joined connections (${sockets.toLocaleString("en")} sockets, rooms of 2)`,
    how:
      `A fresh server per run; its RSS and CPU (/proc) read after 500 ms, then ` +
      `${sockets.toLocaleString("en")} WebSockets opened from ${Math.ceil(sockets / PER_PROCESS)} ` +
      `client processes (at most ${IN_FLIGHT} connects in flight in all, under the listen backlog) ` +
      `and joined, sockets 2i and 2i+1 into room i (Signalroom checking an HS256 join token on ` +
      `each); once every socket has \`joined\` and every room is \`ready\`, 2 s to settle and ` +
      `RSS and CPU again. Memory per connection: RSS grown / sockets joined; CPU per connection: ` +
      `the server's CPU over the same span (accept, upgrade, join, and whatever it does per ` +
      `socket while settling) / sockets joined. RSS is read once more after 2 s more of quiet. ` +
      `Medians of ${RUNS} interleaved runs; nothing retried, failures counted.`,
    rows: [
      figure("memory per idle joined connection (KB)", perConnKb, { kind: "max", value: 1.0 }),
      figure("CPU per connection opened and joined (µs)", perConnUs, { kind: "max", value: 1.0 }),
    ],
    notes,
  };
}
