/**
 * Join-storm and churn scenario of `npm run bench`: rooms of 2 made and
 * torn down as fast as 32 client loops (BENCH_CHURN_LOOPS, over 2 client
 * processes, bench/churn-load.ts) can, each loop opening a pair of
 * WebSockets, joining them into a new room, waiting for `ready` on both
 * and closing both cleanly, over and over. A fresh server per run (the
 * contenders of bench/targets.ts), interleaved with the order rotated,
 * medians of BENCH_CHURN_RUNS (3):
 *
 *  - join storm: a loop opens its next pair as soon as its room is ready
 *    (the closes finish behind it); rooms ready per second over
 *    BENCH_STORM_SECONDS (8) after 1 s of warm-up;
 *  - churn: a loop waits for both closes before its next room; rooms
 *    completed per second over the same span, and the server's CPU per room;
 *  - leak check: one churn run of BENCH_CHURN_SECONDS (60) for Signalroom
 *    (and, for reference, the origin design; BENCH_CHURN_LEAK_BASELINE=0
 *    skips it), after BENCH_CHURN_LEAK_WARMUP_SECONDS (15), the server's
 *    RSS read 4 times a second. RSS saws with every full GC, so what is
 *    live shows in its floor: the least RSS in each tenth of the window,
 *    shown with a least-squares slope of the ten floors against rooms
 *    completed; the verdict compares the floors of the two halves.
 *
 * Servers and clients are processes on 127.0.0.1, stopped by pid; every
 * loop is bounded in time and the clients by a deadline.
 */
import type { ChurnDone, ChurnLoadArgs, ChurnProgress } from "./churn-load.js";
import { ClientProcess } from "./idle.js";
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

const LOOPS = Number(process.env.BENCH_CHURN_LOOPS ?? 32);
const PROCESSES = 2;
const RUNS = Number(process.env.BENCH_CHURN_RUNS ?? 3);
const SHORT_MS = Number(process.env.BENCH_STORM_SECONDS ?? 8) * 1000;
const LEAK_MS = Number(process.env.BENCH_CHURN_SECONDS ?? 60) * 1000;
const LEAK_BASELINE = process.env.BENCH_CHURN_LEAK_BASELINE !== "0";
/**
 * RSS drops only at a full collection and climbs between them (by MBs a
 * second here), so its floor is sampled 4 times a second, not once: a
 * sample a second can miss a trough by more than the threshold below.
 */
const SAMPLE_MS = 250;
const WARMUP_MS = 1000;
/**
 * Before the leak check's window: V8 grows its heap for the first several
 * thousand rooms before its first full collection (RSS climbing ~3 MB/s
 * for ~13 s here), growth that is sizing, not a leak.
 */
const LEAK_WARMUP_MS = Number(process.env.BENCH_CHURN_LEAK_WARMUP_SECONDS ?? 15) * 1000;
/**
 * A floor that grew by less than this much (or 5 % of the first, if more)
 * is flat: V8 resizing its heap moves the floor by a few MB with no leak.
 */
const FLAT_KB = 2048;
const FLAT_SHARE = 0.05;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type ChurnLine = { kind: "loaded" } | ChurnProgress | ChurnDone;

interface Sample {
  t: number;
  rssKb: number;
  /** Rooms completed by then (as last reported: up to 200 ms behind). */
  completed: number;
}

interface LoadRun {
  ready: number;
  completed: number;
  completedAll: number;
  seconds: number;
  serverCpuMs: number;
  /** Client processes' CPU over the window, in all. */
  loadCpuMs: number;
  failures: Record<string, number>;
  errors: Record<string, number>;
  samples: Sample[];
  /** Start of the measured window (epoch ms). */
  from: number;
}

async function loadRun(
  c: Contender,
  mode: ChurnLoadArgs["mode"],
  measureMs: number,
  ticks: number,
  sample: boolean,
  warmupMs = WARMUP_MS,
): Promise<LoadRun> {
  const server: Running = await c.start();
  const gens: ClientProcess<ChurnLine>[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    await sleep(500);
    for (let k = 0; k < PROCESSES; k++) {
      const args: ChurnLoadArgs = {
        mode,
        url: server.wsUrl,
        loops: Math.floor(LOOPS / PROCESSES) + (k < LOOPS % PROCESSES ? 1 : 0),
        warmupMs,
        measureMs,
        progressMs: 200,
        stepTimeoutMs: 10_000,
        deadlineMs: warmupMs + measureMs + 60_000,
        ...(c.token === undefined ? {} : { token: c.token }),
      };
      gens.push(new ClientProcess<ChurnLine>("churn-load.ts", args));
    }
    const latest = gens.map(() => 0);
    gens.forEach((g, i) => {
      g.on("progress", (p) => {
        latest[i] = p.completed;
      });
    });
    await Promise.all(gens.map((g) => g.next("loaded", 30_000)));
    const startAt = Date.now() + 200;
    const from = startAt + warmupMs;
    const to = from + measureMs;
    for (const g of gens) g.send(JSON.stringify({ startAt }));

    // The server's CPU at the same moments the clients start and stop counting.
    let cpu0 = Number.NaN;
    let cpu1 = Number.NaN;
    const samples: Sample[] = [];
    const read = () =>
      samples.push({
        t: Date.now(),
        rssKb: rssKb(server.pid),
        completed: latest.reduce((sum, n) => sum + n, 0),
      });
    timers.push(
      setTimeout(() => {
        cpu0 = cpuMs(server.pid, ticks);
        if (!sample) return;
        read();
        const every = setInterval(() => {
          if (Date.now() < to) read();
        }, SAMPLE_MS);
        timers.push(every);
      }, from - Date.now()),
      setTimeout(() => {
        cpu1 = cpuMs(server.pid, ticks);
      }, to - Date.now()),
    );
    const done = await Promise.all(gens.map((g) => g.next("done", warmupMs + measureMs + 60_000)));
    if (Number.isNaN(cpu1)) cpu1 = cpuMs(server.pid, ticks);

    const failures: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const add = (into: Record<string, number>, key: string, n: number) => {
      if (n > 0) into[key] = (into[key] ?? 0) + n;
    };
    for (const d of done) {
      for (const [k, n] of Object.entries(d.failures)) add(failures, k, n);
      for (const [k, n] of Object.entries(d.errors)) add(errors, k, n);
    }
    const sum = (f: (d: ChurnDone) => number) => done.reduce((s, d) => s + f(d), 0);
    return {
      ready: sum((d) => d.ready),
      completed: sum((d) => d.completed),
      completedAll: sum((d) => d.completedAll),
      seconds: measureMs / 1000,
      serverCpuMs: cpu1 - cpu0,
      loadCpuMs: sum((d) => d.cpuMs),
      failures,
      errors,
      samples,
      from,
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(gens.map((g) => g.stop()));
    await server.stop();
  }
}

interface Leak {
  /** The least RSS in each tenth of the window (KB), in order. */
  floorsKb: number[];
  /** The least RSS in the first and in the second half of the window. */
  firstHalfKb: number;
  secondHalfKb: number;
  growthKb: number;
  /** Rooms completed over the window. */
  rooms: number;
  /** Least-squares slope of the tenths' floors against rooms completed. */
  kbPer1000Rooms: number;
  flat: boolean;
  thresholdKb: number;
}

/**
 * The RSS floor of each tenth of the window, and whether the floor grew.
 * The verdict compares the halves' floors, not the first and last tenth's:
 * a tenth (6 s of a 60 s run) may hold no full collection, and then its
 * least RSS is wherever the climb between two collections stood, up to
 * tens of MB above a trough; each half holds several collections.
 */
function leakCheck(run: LoadRun, measureMs: number): Leak {
  const floors: Sample[] = [];
  for (const s of run.samples) {
    const tenth = Math.min(9, Math.max(0, Math.floor(((s.t - run.from) * 10) / measureMs)));
    const floor = floors[tenth];
    if (floor === undefined || s.rssKb < floor.rssKb) floors[tenth] = s;
  }
  const points = floors.filter((f): f is Sample => f !== undefined);
  if (points.length < 2) throw new Error("leak check: too few RSS samples");
  const lowest = (xs: Sample[]) => Math.min(...xs.map((x) => x.rssKb));
  const firstHalfKb = lowest(floors.slice(0, 5).filter((f): f is Sample => f !== undefined));
  const secondHalfKb = lowest(floors.slice(5).filter((f): f is Sample => f !== undefined));
  const n = points.length;
  const xs = points.map((p) => p.completed / 1000);
  const ys = points.map((p) => p.rssKb);
  const mx = xs.reduce((x, y) => x + y, 0) / n;
  const my = ys.reduce((x, y) => x + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  const thresholdKb = Math.max(FLAT_KB, FLAT_SHARE * firstHalfKb);
  const growthKb = secondHalfKb - firstHalfKb;
  const samples = run.samples;
  return {
    floorsKb: points.map((p) => p.rssKb),
    firstHalfKb,
    secondHalfKb,
    growthKb,
    rooms: (samples.at(-1)?.completed ?? 0) - (samples[0]?.completed ?? 0),
    kbPer1000Rooms: sxx === 0 ? 0 : sxy / sxx,
    flat: growthKb < thresholdKb,
    thresholdKb,
  };
}

function leakNote(name: string, leak: Leak, seconds: number): string {
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const signed = (kb: number) => `${kb >= 0 ? "+" : ""}${mb(kb)}`;
  const verdict = leak.flat ? "no growth" : "GREW";
  // The smallest leak per room this run would have flagged.
  const catches = (leak.thresholdKb * 1024) / Math.max(1, leak.rooms / 2);
  return (
    `- leak check (${name}, ${seconds} s of churn after ${LEAK_WARMUP_MS / 1000} s of warm-up, ` +
    `${leak.rooms.toLocaleString("en")} rooms): RSS floor 1st tenth ` +
    `${mb(leak.floorsKb[0] as number)} MB, last tenth ${mb(leak.floorsKb.at(-1) as number)} MB; ` +
    `lowest in the 1st half ${mb(leak.firstHalfKb)} MB, in the 2nd ${mb(leak.secondHalfKb)} MB: ` +
    `${verdict} (${signed(leak.growthKb)} MB; flat = under ${mb(leak.thresholdKb)} MB, which ` +
    `flags a leak of ${catches.toFixed(0)} bytes per room or more; least-squares slope over the ` +
    `ten floors ${leak.kbPer1000Rooms.toFixed(1)} KB per 1,000 rooms; floors ` +
    `${leak.floorsKb.map((kb) => mb(kb)).join(", ")} MB)`
  );
}

const failed = (r: LoadRun) => Object.values(r.failures).reduce((sum, n) => sum + n, 0);

export async function churn(): Promise<Section> {
  const ticks = clockTicks();
  const all = await contenders();
  const order: Contender[] = [all.baseline, all.raw, all.signalroom];
  type Runs = Record<Contender["key"], LoadRun[]>;
  const storm: Runs = { baseline: [], raw: [], signalroom: [] };
  const churns: Runs = { baseline: [], raw: [], signalroom: [] };
  for (const [mode, into] of [
    ["storm", storm],
    ["churn", churns],
  ] as const) {
    for (let r = 0; r < RUNS; r++) {
      // Rotated, so no contender always goes first.
      for (let i = 0; i < order.length; i++) {
        const c = order[(i + r) % order.length] as Contender;
        into[c.key].push(await loadRun(c, mode, SHORT_MS, ticks, false));
      }
    }
  }
  const leakRuns: [Contender, LoadRun][] = [];
  for (const c of LEAK_BASELINE ? [all.signalroom, all.baseline] : [all.signalroom]) {
    leakRuns.push([c, await loadRun(c, "churn", LEAK_MS, ticks, true, LEAK_WARMUP_MS)]);
  }

  const failureParts: string[] = [];
  const noteFailures = (label: string, runs: Runs) => {
    for (const c of order) {
      runs[c.key].forEach((r, i) => {
        if (failed(r) === 0) return;
        const detail = [...Object.entries(r.failures), ...Object.entries(r.errors)];
        failureParts.push(
          `${label} ${c.name} run ${i + 1}: ${failed(r)} failed (${detail.map(([k, v]) => `${k} ${v}`).join(", ")})`,
        );
      });
    }
  };
  noteFailures("join storm", storm);
  noteFailures("churn", churns);
  for (const [c, r] of leakRuns) {
    if (failed(r) > 0) {
      const detail = [...Object.entries(r.failures), ...Object.entries(r.errors)];
      failureParts.push(
        `leak run ${c.name}: ${failed(r)} failed (${detail.map(([k, v]) => `${k} ${v}`).join(", ")})`,
      );
    }
  }
  const failureNote = failureParts.length ? `FAILURES: ${failureParts.join("; ")}` : undefined;

  const figure = (
    metric: string,
    runs: Runs,
    f: (r: LoadRun) => number,
    target?: { kind: "min"; value: number },
    failures?: string,
  ): Row =>
    row(metric, median(runs.baseline.map(f)), median(runs.signalroom.map(f)), {
      raw: median(runs.raw.map(f)),
      runs: runs.signalroom.map((s, i) => f(s) / f(runs.baseline[i] as LoadRun)),
      ...(target ? { target } : {}),
      ...(failures ? { note: failures } : {}),
    });
  const stormFailed = order.some((c) => storm[c.key].some((r) => failed(r) > 0));
  const churnFailed = order.some((c) => churns[c.key].some((r) => failed(r) > 0));

  const share = (r: LoadRun) => (100 * r.loadCpuMs) / (r.seconds * 1000 * PROCESSES);
  const notes = order.map(
    (c) =>
      `- ${c.name}: client processes at ${median(storm[c.key].map(share)).toFixed(0)} % ` +
      `(join storm) and ${median(churns[c.key].map(share)).toFixed(0)} % (churn) of a core each; ` +
      `server at ${median(storm[c.key].map((r) => r.serverCpuMs / r.seconds / 10)).toFixed(0)} % ` +
      `and ${median(churns[c.key].map((r) => r.serverCpuMs / r.seconds / 10)).toFixed(0)} %`,
  );
  for (const [c, r] of leakRuns)
    notes.push(leakNote(c.name, leakCheck(r, LEAK_MS), LEAK_MS / 1000));
  if (failureNote) notes.push(`- ${failureNote}`);

  return {
    id: "churn",
    title: `Join storm and churn (${LOOPS} client loops, rooms of 2)`,
    how:
      `${LOOPS} client loops over ${PROCESSES} client processes, each over and over opening two ` +
      `WebSockets, joining both into a new room (Signalroom checking an HS256 join token on each), ` +
      `waiting for \`ready\` on both and closing both with 1000. Join storm: a loop opens its next ` +
      `pair as soon as its room is ready, the closes finishing behind it; rooms that reached ` +
      `\`ready\` per second. Churn: a loop waits for both close handshakes first; rooms completed ` +
      `(opened, joined, ready, closed) per second, and the server's CPU (/proc) per room completed. ` +
      `A fresh server per run, ${SHORT_MS / 1000} s counted after 1 s of warm-up, medians of ${RUNS} ` +
      `interleaved runs; nothing retried, failures counted. Leak check: one churn run of ` +
      `${LEAK_MS / 1000} s after ${LEAK_WARMUP_MS / 1000} s of warm-up (V8 sizing its heap), the ` +
      `server's RSS read every ${SAMPLE_MS} ms; its floor (least RSS) in each tenth of the run, ` +
      `a least-squares slope over the ten floors, and the verdict from the lowest floor of each ` +
      `half (a tenth may hold no full GC; a half holds several): flat when it grew by less than ` +
      `${FLAT_KB / 1024} MB or ${FLAT_SHARE * 100} % of the first, whichever is more.`,
    rows: [
      figure(
        "join storm: rooms ready / s",
        storm,
        (r) => r.ready / r.seconds,
        { kind: "min", value: 1.2 },
        stormFailed ? failureNote : undefined,
      ),
      figure(
        "churn: rooms completed / s",
        churns,
        (r) => r.completed / r.seconds,
        { kind: "min", value: 1.2 },
        churnFailed ? failureNote : undefined,
      ),
      figure(
        "churn: server CPU per room completed (µs)",
        churns,
        (r) => (r.serverCpuMs * 1000) / Math.max(1, r.completed),
      ),
    ],
    notes,
  };
}
