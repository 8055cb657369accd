import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import {
  CALL_FAILURE_REASONS,
  CANDIDATE_PROTOCOLS,
  CANDIDATE_TYPES,
  type CallReportMessage,
  CLOSE_CODES,
  ERROR_CODES,
  isErrorCode,
  RELAY_PROTOCOLS,
} from "../../protocol/index.js";

/** How a join ended, as counted: bounded, never a room id. */
const JOIN_RESULTS = [
  "ok",
  "full",
  "locked",
  "unauthorized",
  "forbidden",
  "rate-limited",
  "bad-message",
  "error",
] as const;
export type JoinResult = (typeof JOIN_RESULTS)[number];

/** Which limit refused something. */
const LIMITS = [
  "messages",
  "joins",
  "flood-close",
  "slow-reader",
  "connections-per-ip",
  "max-connections",
  "ice-servers",
  "resume-failures",
] as const;
export type LimitName = (typeof LIMITS)[number];

const RESUME_RESULTS = ["ok", "failed", "rate-limited"] as const;
export type ResumeResult = (typeof RESUME_RESULTS)[number];

/** The relayed types; anything else is not a relay. */
const RELAYED_TYPES = ["offer", "answer", "ice", "message"] as const;
type RelayedType = (typeof RELAYED_TYPES)[number];

/** Close codes counted as themselves; any other code a client picks is "other". */
const KNOWN_CLOSE_CODES = new Set<number>([1000, 1001, 1005, 1006, ...Object.values(CLOSE_CODES)]);

/** What the registry reads when scraped (gauges that are not counted as they happen). */
export interface MetricsSources {
  /** Open WebSockets on this process. */
  connections(): number;
  /** Rooms, members and parked members (cluster-wide with Redis). */
  stats(): Promise<{ rooms: number; members: number; parked: number }>;
  /** Redis as this node sees it, when clustered. */
  redis?: () => "up" | "down" | "starting";
}

/**
 * Every Prometheus metric of the server, named `signalroom_*`, with label
 * values from closed sets only (types, codes, results, limits): never a
 * room id, peer id or address, so the series count is bounded whatever
 * clients send. One registry per server, so several servers in a process
 * (tests, embedding) never mix their counts.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #joins: Counter<"result">;
  readonly #relaySeconds: Histogram;
  readonly #errors: Counter<"code">;
  readonly #closes: Counter<"code">;
  readonly #limits: Counter<"limit">;
  readonly #resumes: Counter<"result">;
  readonly #webhooks: Counter<"result">;
  readonly #calls: Counter<"outcome" | "local" | "remote">;
  readonly #callSetupSeconds: Histogram;
  readonly #callFailures: Counter<"reason">;
  readonly #callProtocols: Counter<"protocol" | "relay_protocol">;
  readonly #callIceRestarts: Counter;
  /** Relayed frames and bytes by type, counted as plain numbers (see the constructor). */
  readonly #relayed = Object.fromEntries(
    RELAYED_TYPES.map((type) => [type, { frames: 0, bytes: 0 }]),
  ) as Record<RelayedType, { frames: number; bytes: number }>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "signalroom_" });
    new Gauge({
      name: "signalroom_connections",
      help: "Open WebSocket connections on this process",
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    const stats = { rooms: 0, members: 0, parked: 0 };
    let statsAt = Number.NEGATIVE_INFINITY;
    // One store query per scrape, shared by the three gauges.
    const fresh = async () => {
      if (performance.now() - statsAt > 100) {
        Object.assign(stats, await sources.stats().catch(() => stats));
        statsAt = performance.now();
      }
      return stats;
    };
    for (const [key, help] of [
      ["rooms", "Rooms with at least one member"],
      ["members", "Members of rooms, connected or parked"],
      ["parked", "Members whose socket dropped, kept for resume"],
    ] as const) {
      new Gauge({
        name: `signalroom_${key}`,
        help,
        registers,
        async collect() {
          this.set((await fresh())[key]);
        },
      });
    }
    if (sources.redis) {
      const redis = sources.redis;
      new Gauge({
        name: "signalroom_redis_up",
        help: "1 when this node reaches Redis and holds its lease, else 0 (clustered only)",
        registers,
        collect() {
          this.set(redis() === "up" ? 1 : 0);
        },
      });
    }
    this.#joins = new Counter({
      name: "signalroom_joins_total",
      help: "Joins by result",
      labelNames: ["result"],
      registers,
    });
    // The hot path counts into plain numbers; the counters take them at
    // scrape time (a labelled inc hashes its labels on every call).
    const relayed = this.#relayed;
    new Counter({
      name: "signalroom_relayed_frames_total",
      help: "Frames relayed from one member to others, by type (a broadcast counts once)",
      labelNames: ["type"],
      registers,
      collect() {
        this.reset();
        for (const type of RELAYED_TYPES) this.inc({ type }, relayed[type].frames);
      },
    });
    new Counter({
      name: "signalroom_relayed_bytes_total",
      help: "Bytes of relayed frames as received, by type",
      labelNames: ["type"],
      registers,
      collect() {
        this.reset();
        for (const type of RELAYED_TYPES) this.inc({ type }, relayed[type].bytes);
      },
    });
    this.#relaySeconds = new Histogram({
      name: "signalroom_relay_seconds",
      help: "The server's own time to handle one relayed frame, from reading it to handing it on",
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers,
    });
    this.#errors = new Counter({
      name: "signalroom_errors_total",
      help: "Protocol errors sent to clients, by code",
      labelNames: ["code"],
      registers,
    });
    this.#closes = new Counter({
      name: "signalroom_closes_total",
      help: "Closed WebSockets, by close code (1006: no close frame)",
      labelNames: ["code"],
      registers,
    });
    this.#limits = new Counter({
      name: "signalroom_limit_hits_total",
      help: "Things refused by a limit, by limit",
      labelNames: ["limit"],
      registers,
    });
    this.#resumes = new Counter({
      name: "signalroom_resumes_total",
      help: "Resumes by result",
      labelNames: ["result"],
      registers,
    });
    this.#webhooks = new Counter({
      name: "signalroom_webhooks_total",
      help: "Webhook events by what became of them: delivered, failed (after retries), dropped (queue full)",
      labelNames: ["result"],
      registers,
    });
    for (const result of ["delivered", "failed", "dropped"]) this.#webhooks.inc({ result }, 0);
    this.#calls = new Counter({
      name: "signalroom_calls_total",
      help:
        "Peer connections reported by clients (call-report), by outcome and the selected " +
        'candidate types (local, remote; "none" when it failed)',
      labelNames: ["outcome", "local", "remote"],
      registers,
    });
    // Unlabelled, like signalroom_relay_seconds: one distribution of how
    // long a connection takes, whatever it connected over.
    this.#callSetupSeconds = new Histogram({
      name: "signalroom_call_setup_seconds",
      help: "Time for a peer connection to connect, as its client reports it (connected only)",
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
      registers,
    });
    this.#callFailures = new Counter({
      name: "signalroom_call_failures_total",
      help: "Peer connections that never connected, by the reason their client gave",
      labelNames: ["reason"],
      registers,
    });
    this.#callProtocols = new Counter({
      name: "signalroom_call_protocols_total",
      help:
        "Connected peer connections by the selected pair's transport, and how the local " +
        'relay candidate reached TURN ("none": not relayed; "unknown": not reported)',
      labelNames: ["protocol", "relay_protocol"],
      registers,
    });
    this.#callIceRestarts = new Counter({
      name: "signalroom_call_ice_restarts_total",
      help: "ICE restarts during the setup of reported peer connections",
      registers,
    });
    for (const local of CANDIDATE_TYPES) {
      for (const remote of CANDIDATE_TYPES)
        this.#calls.inc({ outcome: "connected", local, remote }, 0);
    }
    this.#calls.inc({ outcome: "failed", local: "none", remote: "none" }, 0);
    for (const reason of CALL_FAILURE_REASONS) this.#callFailures.inc({ reason }, 0);
    for (const protocol of CANDIDATE_PROTOCOLS) {
      for (const relay_protocol of [...RELAY_PROTOCOLS, "unknown", "none"]) {
        this.#callProtocols.inc({ protocol, relay_protocol }, 0);
      }
    }
    // Every known series exists from the start, at 0: a rate over a
    // counter that appears only at its first event misses that event.
    for (const result of JOIN_RESULTS) this.#joins.inc({ result }, 0);
    for (const result of RESUME_RESULTS) this.#resumes.inc({ result }, 0);
    for (const limit of LIMITS) this.#limits.inc({ limit }, 0);
    for (const code of Object.keys(ERROR_CODES)) this.#errors.inc({ code }, 0);
  }

  join(result: JoinResult): void {
    this.#joins.inc({ result });
  }

  /** One relayed frame of `bytes` bytes, handled in `seconds`. */
  relayed(type: string, bytes: number, seconds: number): void {
    const counts = this.#relayed[type as RelayedType];
    if (counts === undefined) return;
    counts.frames++;
    counts.bytes += bytes;
    this.#relaySeconds.observe(seconds);
  }

  error(code: string): void {
    this.#errors.inc({ code: isErrorCode(code) ? code : "other" });
  }

  closed(code: number): void {
    this.#closes.inc({ code: KNOWN_CLOSE_CODES.has(code) ? String(code) : "other" });
  }

  limit(limit: LimitName): void {
    this.#limits.inc({ limit });
  }

  webhook(result: "delivered" | "failed" | "dropped"): void {
    this.#webhooks.inc({ result });
  }

  /** One accepted `call-report` (validated: every label value is from a closed set). */
  callReport(report: CallReportMessage): void {
    this.#callIceRestarts.inc(report.iceRestarts);
    if (report.outcome === "failed") {
      this.#calls.inc({ outcome: "failed", local: "none", remote: "none" });
      this.#callFailures.inc({ reason: report.reason });
      return;
    }
    this.#calls.inc({ outcome: "connected", local: report.local, remote: report.remote });
    this.#callSetupSeconds.observe(report.setupMs / 1000);
    this.#callProtocols.inc({
      protocol: report.protocol,
      relay_protocol: report.local === "relay" ? (report.relayProtocol ?? "unknown") : "none",
    });
  }

  resume(result: ResumeResult): void {
    this.#resumes.inc({ result });
  }

  /** The Prometheus text exposition, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
