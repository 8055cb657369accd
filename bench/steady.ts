/**
 * Relay scenarios of `npm run bench`, the origin design against Signalroom
 * (and a raw `ws` forwarder for scale), each run on a fresh server, the
 * contenders taking turns run after run so a shared machine's noise falls
 * on all of them alike:
 *
 *  - steady (`tsx bench/run.ts steady`): a fixed, open-loop rate that the
 *    server carries comfortably, the load users live with. 100 rooms of 2;
 *    the a's send 10,000 messages/s in all on a fixed schedule whatever the
 *    replies do, every 10th an `offer` of ~3.7 KB with a browser-style SDP,
 *    the others `ice` frames of ~265 B with an srflx candidate; each b
 *    answers every one (an `answer` of the offer's size, an `ice` back), so
 *    20,000 messages/s are relayed. Round trips are timed from the
 *    scheduled send (no coordinated omission); server CPU (utime + stime)
 *    over the measured window per relayed message. Medians of
 *    BENCH_STEADY_RUNS (default 5) runs, each a warm-up and 8 s measured.
 *  - saturation (`tsx bench/run.ts saturation`): the same rooms and frames,
 *    closed loop with 4 round trips in flight per room: CPU per relayed
 *    message at the most the server can carry. Medians of
 *    BENCH_SATURATION_RUNS (default 5): with 3, one run of one server
 *    landing in a busy stretch of this shared machine took the ratio from
 *    0.88 to 1.04 between two full runs, of builds that an A/B (5 runs
 *    each, taking turns) then measured at 17.2 µs per message both.
 *
 * The load generator (bench/relay-load.ts) is its own process; every member
 * acks once a second as the SDK does (the origin design ignores acks).
 */
import { cpus } from "node:os";
import { load } from "./cluster.js";
import type { RelayResult } from "./relay-load.js";
import { type Row, row, type Section } from "./results.js";
import { type Contender, clockTicks, contenders, median, TRAFFIC } from "./targets.js";

const PAIRS = 100;
const RATE = Number(process.env.BENCH_STEADY_RATE ?? 20_000);
const STEADY_RUNS = Number(process.env.BENCH_STEADY_RUNS ?? 5);
const SATURATION_RUNS = Number(process.env.BENCH_SATURATION_RUNS ?? 5);
const MEASURE_MS = Number(process.env.BENCH_STEADY_SECONDS ?? 8) * 1000;
const WARMUP_MS = 3000;

interface Figures {
  cpuUsPerMessage: number;
  p50: number;
  p99: number;
  relayedPerSecond: number;
  unanswered: number;
}

async function once(c: Contender, mode: "relay" | "saturate"): Promise<Figures> {
  const server = await c.start();
  try {
    const url = server.wsUrl;
    const r = await load<RelayResult>({
      mode,
      pairs: Array.from({ length: PAIRS }, () => ({ a: url, b: url })),
      rate: RATE / 2,
      window: 4,
      token: c.token,
      ...TRAFFIC,
      warmupMs: WARMUP_MS,
      measureMs: MEASURE_MS,
      pids: { nodes: [server.pid], redis: null },
      clockTicks: clockTicks(),
      deadlineMs: WARMUP_MS + MEASURE_MS + 60_000,
    });
    const errors = Object.entries(r.errors);
    if (errors.length > 0) {
      throw new Error(`${c.name}: errors during the run: ${JSON.stringify(r.errors)}`);
    }
    return {
      cpuUsPerMessage: (r.nodeCpuMs * 1000) / r.relayed,
      p50: r.p50,
      p99: r.p99,
      relayedPerSecond: r.relayed / r.seconds,
      unanswered: r.unanswered,
    };
  } finally {
    await server.stop();
  }
}

type Key = "baseline" | "raw" | "signalroom";

/** Runs every contender `runs` times, taking turns (the order rotates each run). */
async function interleaved(
  mode: "relay" | "saturate",
  runs: number,
): Promise<Record<Key, Figures[]>> {
  const all = await contenders();
  const list: Contender[] = [all.baseline, all.signalroom, all.raw];
  const out: Record<Key, Figures[]> = { baseline: [], raw: [], signalroom: [] };
  for (let i = 0; i < runs; i++) {
    const order = [...list.slice(i % list.length), ...list.slice(0, i % list.length)];
    for (const c of order) {
      const f = await once(c, mode);
      out[c.key].push(f);
      console.log(
        `  ${mode} run ${i + 1}/${runs} ${c.name.padEnd(18)} ${f.cpuUsPerMessage.toFixed(1)} µs/msg, ` +
          `p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ${f.relayedPerSecond.toFixed(0)}/s` +
          (f.unanswered ? `, ${f.unanswered} unanswered` : ""),
      );
    }
  }
  return out;
}

/** A row of medians, with each run's ratio (runs paired in order). */
function medianRow(
  metric: string,
  figures: Record<Key, Figures[]>,
  pick: (f: Figures) => number,
  target?: { kind: "max" | "min"; value: number },
): Row {
  const b = figures.baseline.map(pick);
  const s = figures.signalroom.map(pick);
  return row(metric, median(b), median(s), {
    raw: median(figures.raw.map(pick)),
    runs: s.map((x, i) => x / (b[i] as number)),
    ...(target ? { target } : {}),
  });
}

export async function steady(): Promise<Section> {
  console.log(
    `\nsteady: ${PAIRS} rooms of 2, ${RATE} relayed messages/s open loop, ${STEADY_RUNS} runs each, ` +
      `${MEASURE_MS / 1000} s measured after ${WARMUP_MS / 1000} s (${cpus().length} cores)`,
  );
  const f = await interleaved("relay", STEADY_RUNS);
  const unanswered = [...f.baseline, ...f.signalroom, ...f.raw].reduce(
    (n, x) => n + x.unanswered,
    0,
  );
  return {
    id: "steady",
    title: `Relay at a fixed ${RATE.toLocaleString("en")} messages/s`,
    how:
      `${PAIRS} rooms of 2 on one server; the a's send ${(RATE / 2).toLocaleString("en")} messages/s in all on a fixed ` +
      "schedule (open loop: whatever the replies do), every 10th an `offer` of ~3.7 KB with a browser-style SDP, the " +
      "others `ice` frames of ~265 B with an srflx candidate; each b answers every one, so " +
      `${RATE.toLocaleString("en")} messages/s are relayed. Every member acks once a second, as the SDK does. A round ` +
      "trip is timed from the moment the message was due, so a stalled server cannot hide its queue. Server CPU is " +
      "utime + stime of its process over the measured window, per relayed message. Signalroom checks an HS256 join " +
      `token on every join, with validation, limits and metrics on. Medians of ${STEADY_RUNS} runs per server, each ` +
      `on a fresh server, the servers taking turns; ${MEASURE_MS / 1000} s measured after ${WARMUP_MS / 1000} s of warm-up.`,
    rows: [
      medianRow("server CPU per relayed message (µs)", f, (x) => x.cpuUsPerMessage, {
        kind: "max",
        value: 0.85,
      }),
      medianRow("round trip p50 (ms)", f, (x) => x.p50, { kind: "max", value: 1.0 }),
      medianRow("round trip p99 (ms)", f, (x) => x.p99, { kind: "max", value: 1.0 }),
      medianRow("relayed messages/s (offered load)", f, (x) => x.relayedPerSecond),
    ],
    notes: unanswered > 0 ? [`${unanswered} round trips unanswered in the measured windows.`] : [],
  };
}

export async function saturation(): Promise<Section> {
  console.log(
    `\nsaturation: ${PAIRS} rooms of 2, 4 round trips in flight each, ${SATURATION_RUNS} runs`,
  );
  const f = await interleaved("saturate", SATURATION_RUNS);
  return {
    id: "saturation",
    title: "Relay at saturation",
    how:
      `The same ${PAIRS} rooms and frames, closed loop: each a keeps 4 round trips in flight and sends the next as ` +
      "one comes back, so the server runs as fast as it can. Server CPU per relayed message over the measured " +
      `window. Medians of ${SATURATION_RUNS} runs per server, fresh servers taking turns.`,
    rows: [
      medianRow("server CPU per relayed message (µs)", f, (x) => x.cpuUsPerMessage, {
        kind: "max",
        value: 0.8,
      }),
      medianRow("relayed messages/s", f, (x) => x.relayedPerSecond),
      medianRow("round trip p50 (ms)", f, (x) => x.p50),
    ],
  };
}
