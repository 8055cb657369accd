import { readFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";

/**
 * Every server option in one table: its environment variable, its CLI
 * flag, its schema with the default, and its help line. `--help`, the
 * README's configuration table (checked by a test) and validation all come
 * from here. The defaults are the embedded mode: one process, in-memory
 * rooms, open to anyone who knows a room id (as the origin design).
 */

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../web/", import.meta.url));

const iceUrl = (schemes: string) =>
  z
    .string()
    .regex(new RegExp(`^(${schemes}):`, "i"), `must be a ${schemes.split("|").join(":/")}: URL`);

/** A comma-separated string (env, flags) or an array (programmatic overrides). */
const list = <T extends z.ZodType<string, string>>(item: T) =>
  z.union([
    z.array(item),
    z
      .string()
      .transform((s) =>
        s
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== ""),
      )
      .pipe(z.array(item)),
  ]);

// Decimal digits only: `z.coerce.number` would read " " and "" as 0 (a
// random port) and accept "0x10" or "1e3".
const int = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
    z
      .number({
        error: (issue) => (issue.code === "invalid_type" ? "must be a whole number" : undefined),
      })
      .int()
      .min(min)
      .max(max),
  );

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s === "" ? undefined : s));

const origin = z
  .string()
  .regex(/^(\*|https?:\/\/[^/\s]+)$/i, "must be an origin like https://example.org (no path)")
  .transform((s) => s.toLowerCase());

interface OptionSpec {
  readonly env: string;
  readonly flag: string;
  readonly schema: z.ZodType;
  /** Shown in --help and the README, e.g. `3000` or `none`. */
  readonly default: string;
  readonly help: string;
  /** A secret: never printed or logged. */
  readonly secret?: boolean;
}

export const OPTIONS = {
  port: {
    env: "PORT",
    flag: "port",
    schema: int(0, 65535).default(3000),
    default: "3000",
    help: "HTTP and WebSocket port",
  },
  host: {
    env: "HOST",
    flag: "host",
    schema: z.string().min(1).default("0.0.0.0"),
    default: "0.0.0.0",
    help: "address to bind",
  },
  maxPeers: {
    env: "MAX_PEERS",
    flag: "max-peers",
    schema: int(2, 1024).default(2),
    default: "2",
    help: "members per room unless a join token says otherwise (2 is a 1:1 call)",
  },
  maxRoomCapacity: {
    env: "MAX_ROOM_CAPACITY",
    flag: "max-room-capacity",
    schema: int(2, 1024).default(16),
    default: "16",
    help: "hard ceiling on room size, also for a token's maxPeers claim",
  },
  maxMessageBytes: {
    env: "MAX_MESSAGE_BYTES",
    flag: "max-message-bytes",
    schema: int(1024, 16 * 1024 * 1024).default(65536),
    default: "65536",
    help: "largest WebSocket frame; a larger one closes the socket with 1009",
  },
  heartbeatIntervalMs: {
    env: "HEARTBEAT_INTERVAL_MS",
    flag: "heartbeat-interval-ms",
    schema: int(1000, 3_600_000).default(10_000),
    default: "10000",
    help: "WebSocket ping interval; a socket silent for two intervals is dropped (and parked)",
  },
  resumeGraceMs: {
    env: "RESUME_GRACE_MS",
    flag: "resume-grace-ms",
    schema: int(0, 3_600_000).default(20_000),
    default: "20000",
    help: "how long a dropped member keeps its place for `resume`; 0 turns resume off",
  },
  resumeBufferMessages: {
    env: "RESUME_BUFFER_MESSAGES",
    flag: "resume-buffer-messages",
    schema: int(1, 1_000_000).default(512),
    default: "512",
    help: "unacknowledged frames kept per member for replay on resume",
  },
  resumeBufferBytes: {
    env: "RESUME_BUFFER_BYTES",
    flag: "resume-buffer-bytes",
    schema: int(1024, 1024 * 1024 * 1024).default(1024 * 1024),
    default: "1048576",
    help: "bytes of unacknowledged frames kept per member for replay on resume",
  },
  resumeFailuresPerMinute: {
    env: "RESUME_FAILURES_PER_MINUTE",
    flag: "resume-failures-per-minute",
    schema: int(1, 100_000).default(30),
    default: "30",
    help: "refused resumes per minute per client address (burst of 10); more get rate-limited",
  },
  shutdownDrainMs: {
    env: "SHUTDOWN_DRAIN_MS",
    flag: "shutdown-drain-ms",
    schema: int(0, 600_000).default(10_000),
    default: "10000",
    help: "on SIGTERM, how long sockets may take to close (1012) before the process exits",
  },
  redisUrl: {
    env: "REDIS_URL",
    flag: "redis-url",
    schema: optionalString.pipe(
      z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).optional(),
    ),
    default: "none",
    secret: true,
    help: "share rooms with other nodes through this Redis (redis:// or rediss://); unset: one process, rooms in memory",
  },
  nodeId: {
    env: "NODE_ID",
    flag: "node-id",
    schema: optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'")
        .optional(),
    ),
    default: "random",
    help: "this node's name in the cluster (logs, /healthz); unset: unique per process",
  },
  nodeLivenessMs: {
    env: "NODE_LIVENESS_MS",
    flag: "node-liveness-ms",
    schema: int(3000, 600_000).default(7000),
    default: "7000",
    help: "with REDIS_URL: a node silent this long is dead; its members are parked, then leave",
  },
  stunUrls: {
    env: "STUN_URLS",
    flag: "stun",
    schema: list(iceUrl("stun|stuns")).default([]),
    default: "none",
    help: "comma-separated stun: URLs handed to clients",
  },
  turnUrls: {
    env: "TURN_URLS",
    flag: "turn",
    schema: list(iceUrl("turn|turns")).default([]),
    default: "none",
    help: "comma-separated turn:/turns: URLs of a TURN server using use-auth-secret",
  },
  turnSecrets: {
    env: "TURN_SECRET",
    flag: "turn-secret",
    schema: list(z.string().min(16, "must be at least 16 characters")).default([]),
    default: "none",
    help: "coturn's static-auth-secret; comma-separated for rotation (the first mints)",
    secret: true,
  },
  turnTtlSeconds: {
    env: "TURN_TTL",
    flag: "turn-ttl",
    schema: int(60, 7 * 24 * 3600).default(3600),
    default: "3600",
    help: "lifetime of minted TURN credentials in seconds (at most 300 without auth)",
  },
  authSecret: {
    env: "AUTH_SECRET",
    flag: "auth-secret",
    schema: optionalString.pipe(z.string().min(32, "must be at least 32 characters").optional()),
    default: "none",
    help: "HS256 secret for join tokens; turns auth on",
    secret: true,
  },
  authPublicKey: {
    env: "AUTH_PUBLIC_KEY",
    flag: "auth-public-key",
    schema: optionalString,
    default: "none",
    help: "path to a PEM public key (RS256 or ES256) for join tokens; turns auth on",
  },
  authJwksUrl: {
    env: "AUTH_JWKS_URL",
    flag: "auth-jwks-url",
    schema: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    default: "none",
    help: "JWKS URL (https, or http to loopback) with the keys for join tokens; turns auth on",
  },
  authIssuer: {
    env: "AUTH_ISSUER",
    flag: "auth-issuer",
    schema: optionalString,
    default: "none",
    help: "required `iss` of join tokens",
  },
  authAudience: {
    env: "AUTH_AUDIENCE",
    flag: "auth-audience",
    schema: optionalString,
    default: "none",
    help: "required `aud` of join tokens",
  },
  authClockToleranceSeconds: {
    env: "AUTH_CLOCK_TOLERANCE",
    flag: "auth-clock-tolerance",
    schema: int(0, 600).default(30),
    default: "30",
    help: "clock skew allowed when checking exp and nbf, in seconds",
  },
  tlsCert: {
    env: "TLS_CERT",
    flag: "tls-cert",
    schema: optionalString,
    default: "none",
    help: "PEM certificate (chain) path; with TLS_KEY serves HTTPS and WSS",
  },
  tlsKey: {
    env: "TLS_KEY",
    flag: "tls-key",
    schema: optionalString,
    default: "none",
    help: "PEM private key path for TLS_CERT",
  },
  trustProxy: {
    env: "TRUST_PROXY",
    flag: "trust-proxy",
    schema: optionalString,
    default: "none",
    help: "proxies whose X-Forwarded-For is believed: loopback, CIDRs, or a hop count",
  },
  allowedOrigins: {
    env: "ALLOWED_ORIGINS",
    flag: "allowed-origins",
    schema: list(origin).default([]),
    default: "any",
    help: "comma-separated origins allowed to open WebSockets; others get HTTP 403",
  },
  rateLimitPerSecond: {
    env: "RATE_LIMIT_PER_SECOND",
    flag: "rate-limit-per-second",
    schema: int(1, 100_000).default(50),
    default: "50",
    help: "messages per second per connection, sustained; times the room-mates in a mesh room",
  },
  rateLimitBurst: {
    env: "RATE_LIMIT_BURST",
    flag: "rate-limit-burst",
    schema: int(1, 100_000).default(200),
    default: "200",
    help: "messages a connection may send at once (ICE trickle comes in bursts); times the room-mates",
  },
  rateLimitBytesPerSecond: {
    env: "RATE_LIMIT_BYTES_PER_SECOND",
    flag: "rate-limit-bytes-per-second",
    schema: int(1024, 1024 * 1024 * 1024).default(262_144),
    default: "262144",
    help: "bytes per second per connection, sustained (bursts of four seconds' worth)",
  },
  rateLimitCloseAfter: {
    env: "RATE_LIMIT_CLOSE_AFTER",
    flag: "rate-limit-close-after",
    schema: int(1, 1_000_000).default(100),
    default: "100",
    help: "refused messages within 10 s after which the socket is closed with 1008 (a steady flood too)",
  },
  joinsPerMinute: {
    env: "JOIN_RATE_PER_MINUTE",
    flag: "join-rate-per-minute",
    schema: int(1, 100_000).default(30),
    default: "30",
    help: "joins per minute per connection (burst of 10)",
  },
  maxConnectionsPerIp: {
    env: "MAX_CONNECTIONS_PER_IP",
    flag: "max-connections-per-ip",
    schema: int(1, 1_000_000).default(64),
    default: "64",
    help: "open WebSockets per client address (IPv6: per /64); more get HTTP 429",
  },
  maxConnections: {
    env: "MAX_CONNECTIONS",
    flag: "max-connections",
    schema: int(1, 10_000_000).default(defaultMaxConnections),
    default: "open-file limit - 256",
    help: "open WebSockets in all; more get HTTP 503 (each socket is a file descriptor)",
  },
  iceServersPerMinute: {
    env: "ICE_SERVERS_RATE_PER_MINUTE",
    flag: "ice-servers-rate-per-minute",
    schema: int(1, 100_000).default(30),
    default: "30",
    help: "GET /api/ice-servers per minute per client address (burst of 10); more get HTTP 429",
  },
  maxBufferedBytes: {
    env: "MAX_BUFFERED_BYTES",
    flag: "max-buffered-bytes",
    schema: int(64 * 1024, 1024 * 1024 * 1024).default(1024 * 1024),
    default: "1048576",
    help: "unsent bytes a slow reader may pile up before it is disconnected (4001)",
  },
  joinTimeoutMs: {
    env: "JOIN_TIMEOUT_MS",
    flag: "join-timeout-ms",
    schema: int(1000, 3_600_000).default(30_000),
    default: "30000",
    help: "a socket that has not joined a room by then is closed (4002)",
  },
  webhookUrl: {
    env: "WEBHOOK_URL",
    flag: "webhook-url",
    schema: optionalString.pipe(
      z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    ),
    default: "none",
    help: "POST room-started, peer-joined, peer-left and room-finished events here (signed; needs WEBHOOK_SECRET)",
  },
  webhookSecret: {
    env: "WEBHOOK_SECRET",
    flag: "webhook-secret",
    schema: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
    default: "none",
    secret: true,
    help: "HMAC-SHA256 key of the Signalroom-Signature header on webhook requests",
  },
  adminToken: {
    env: "ADMIN_TOKEN",
    flag: "admin-token",
    schema: optionalString.pipe(z.string().min(24, "must be at least 24 characters").optional()),
    default: "none",
    secret: true,
    help: "bearer token of the admin API (/api/admin/...: list rooms, kick, close); unset: no admin API",
  },
  metricsToken: {
    env: "METRICS_TOKEN",
    flag: "metrics-token",
    schema: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
    default: "none",
    secret: true,
    help: "bearer token that GET /metrics requires; unset: /metrics answers anyone who can reach it",
  },
  metricsPort: {
    env: "METRICS_PORT",
    flag: "metrics-port",
    schema: int(0, 65535).optional(),
    default: "none",
    help: "serve /metrics on this port (on METRICS_HOST) instead of the main one",
  },
  metricsHost: {
    env: "METRICS_HOST",
    flag: "metrics-host",
    schema: z.string().min(1).default("127.0.0.1"),
    default: "127.0.0.1",
    help: "address the METRICS_PORT listener binds",
  },
  logFormat: {
    env: "LOG_FORMAT",
    flag: "log-format",
    schema: z
      .enum(["auto", "json", "pretty"], { error: 'must be "auto", "json" or "pretty"' })
      .default("auto"),
    default: "auto",
    help: "json (one JSON object per line), pretty (readable lines), or auto: pretty on a terminal, else json",
  },
  logLevel: {
    env: "LOG_LEVEL",
    flag: "log-level",
    schema: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        error: 'must be "fatal", "error", "warn", "info", "debug", "trace" or "silent"',
      })
      .default("info"),
    default: "info",
    help: "fatal, error, warn, info, debug, trace or silent (logs go to stdout)",
  },
  webRoot: {
    env: "WEB_ROOT",
    flag: "web-root",
    schema: z.string().default(DEFAULT_WEB_ROOT),
    default: "the bundled app",
    help: 'folder of the web app to serve; --web-root "" serves none',
  },
} as const satisfies Record<string, OptionSpec>;

type Options = typeof OPTIONS;

/** The validated server configuration (see {@link OPTIONS} for each field). */
export type Config = { [K in keyof Options]: z.output<Options[K]["schema"]> };

const configSchema = z
  .object(
    Object.fromEntries(Object.entries(OPTIONS).map(([key, spec]) => [key, spec.schema])) as {
      [K in keyof Options]: Options[K]["schema"];
    },
  )
  .superRefine((c, ctx) => {
    const keys = [c.authSecret, c.authPublicKey, c.authJwksUrl].filter((k) => k !== undefined);
    if (keys.length > 1) {
      ctx.addIssue({
        code: "custom",
        path: ["authSecret"],
        message: "set only one of AUTH_SECRET, AUTH_PUBLIC_KEY, AUTH_JWKS_URL",
      });
    }
    if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["tlsCert"],
        message: "TLS_CERT and TLS_KEY go together",
      });
    }
    if (c.turnUrls.length > 0 !== c.turnSecrets.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["turnUrls"],
        message: "TURN_URLS and TURN_SECRET go together",
      });
    }
    if (c.maxMessageBytes > c.maxBufferedBytes) {
      ctx.addIssue({
        code: "custom",
        path: ["maxMessageBytes"],
        message:
          "must not exceed MAX_BUFFERED_BYTES (a reader sent one such frame would be cut as slow at the next)",
      });
    }
    if (keys.length === 0 && (c.authIssuer !== undefined || c.authAudience !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [c.authIssuer !== undefined ? "authIssuer" : "authAudience"],
        message:
          "needs a key to check tokens with: set AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL",
      });
    }
    if (c.authJwksUrl !== undefined && !secureOrLoopback(c.authJwksUrl)) {
      ctx.addIssue({
        code: "custom",
        path: ["authJwksUrl"],
        message: "must be https:// (plain http is allowed only to a loopback host)",
      });
    }
    if ((c.webhookUrl === undefined) !== (c.webhookSecret === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["webhookUrl"],
        message: "WEBHOOK_URL and WEBHOOK_SECRET go together (requests are always signed)",
      });
    }
    if (c.maxPeers > c.maxRoomCapacity) {
      ctx.addIssue({
        code: "custom",
        path: ["maxPeers"],
        message: "must not exceed MAX_ROOM_CAPACITY",
      });
    }
  });

/** Kept free for what is not a WebSocket: listeners, Redis, files, HTTP requests. */
const FILE_RESERVE = 256;

/**
 * MAX_CONNECTIONS by default: every socket is a file descriptor, and a
 * process past its open-file limit fails in odd places (accept, logging,
 * Redis). Node raises the soft limit to the hard one at start, so the soft
 * limit read here is what the process has.
 */
export function defaultMaxConnections(): number {
  return Math.max(1, openFileLimit() - FILE_RESERVE);
}

function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(
      readFileSync("/proc/self/limits", "utf8"),
    );
    if (line?.[1] !== undefined && line[1] !== "unlimited") return Number(line[1]);
  } catch {
    // Not Linux: a typical limit.
  }
  return 10_240;
}

/** An https URL, or an http one to this machine (a local JWKS in tests and sidecars). */
function secureOrLoopback(url: string): boolean {
  const parsed = new URL(url);
  if (parsed.protocol === "https:") return true;
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || (isIPv4(host) && host.startsWith("127."));
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The file an option names, or a ConfigError saying, in one line, why it cannot be read. */
export function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a folder"
            : (message.split("\n")[0] ?? message);
    throw new ConfigError(`${option}: cannot read ${path}: ${why}`);
  }
}

/** Whether join tokens are required. */
export function authEnabled(config: Config): boolean {
  return (
    config.authSecret !== undefined ||
    config.authPublicKey !== undefined ||
    config.authJwksUrl !== undefined
  );
}

/**
 * Builds a validated config. Precedence: `overrides` (programmatic), then
 * CLI flags, then environment, then defaults. Overrides are validated like
 * every other source; an `undefined` override is no override.
 */
export function loadConfig(
  opts: {
    env?: Record<string, string | undefined>;
    argv?: readonly string[];
    overrides?: { [K in keyof Config]?: Config[K] | undefined };
  } = {},
): Config {
  const env = opts.env ?? {};
  const flags = opts.argv ? parseFlags(opts.argv) : {};
  const raw: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(OPTIONS) as [keyof Options, OptionSpec][]) {
    const fromFlag = flags[spec.flag];
    const fromEnv = env[spec.env];
    const value = fromFlag ?? (fromEnv === "" ? undefined : fromEnv);
    if (value !== undefined) raw[key] = value;
  }
  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const spec = OPTIONS[String(issue.path[0]) as keyof Options] as OptionSpec | undefined;
      const name = spec ? `${spec.env} / --${spec.flag}` : String(issue.path[0] ?? "config");
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(
      problems.length === 1
        ? (problems[0] as string)
        : `${problems.length} problems:\n  ${problems.join("\n  ")}`,
    );
  }
  return parsed.data as Config;
}

function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  const options = Object.fromEntries(
    Object.values(OPTIONS).map((spec) => [spec.flag, { type: "string" as const }]),
  );
  try {
    const { values } = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | undefined>;
  } catch (error) {
    // node's own words ("Unknown option '--nope'...") in our voice: the option, then the problem.
    const { code, message } = error as NodeJS.ErrnoException;
    const option = /'([^']+)'/.exec(message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option !== undefined) {
      throw new ConfigError(`${option}: unknown option`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && option !== undefined) {
      throw new ConfigError(`'${option}': unexpected argument (options are --name value)`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option !== undefined) {
      throw new ConfigError(`${option.split(" ")[0]}: needs a value`);
    }
    throw new ConfigError(message);
  }
}

/** The config with secrets masked, for logs. */
export function redactedConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      const spec = OPTIONS[key as keyof Options] as OptionSpec;
      const hidden =
        spec.secret && value !== undefined && !(Array.isArray(value) && value.length === 0);
      return [key, hidden ? "[redacted]" : value];
    }),
  );
}

/** Text for `signalroom --help`. */
export function helpText(): string {
  const specs: OptionSpec[] = Object.values(OPTIONS);
  const flagWidth = Math.max(...specs.map((spec) => spec.flag.length), "help".length) + 4;
  const envWidth = Math.max(...specs.map((spec) => spec.env.length)) + 2;
  const lines = specs.map(
    (spec) =>
      `  --${spec.flag.padEnd(flagWidth - 2)}${spec.env.padEnd(envWidth)}${spec.help} (default ${spec.default})`,
  );
  return [
    "Usage: signalroom [options]",
    "       signalroom token --room ROOM --sub USER [--ttl 1h] [--role host|guest] [--name NAME] [--max-peers N]",
    "",
    "Starts the Signalroom signaling server and web app.",
    "Every option can be given as a flag or as an environment variable:",
    "",
    ...lines,
    `  --${"help".padEnd(flagWidth - 2)}${"".padEnd(envWidth)}show this text`,
    "",
    "`signalroom token --help` explains minting join tokens.",
    "",
  ].join("\n");
}
