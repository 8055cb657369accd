import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { IceServer } from "../protocol/index.js";

/**
 * Every server option: its environment variable, its CLI flag and its
 * default. The defaults are the embedded mode: one process, in-memory
 * rooms, open to anyone who knows a room id (as the origin design).
 */
export interface Config {
  /** TCP port for HTTP and WebSocket. Env `PORT`, flag `--port`. Default 3000. */
  port: number;
  /** Address to bind. Env `HOST`, flag `--host`. Default `0.0.0.0`. */
  host: string;
  /** Room capacity. Env `MAX_PEERS`, flag `--max-peers`. Default 2 (1:1 calls). */
  maxPeers: number;
  /** Largest accepted frame in bytes; larger closes with 1009. Env `MAX_MESSAGE_BYTES`. Default 65536. */
  maxMessageBytes: number;
  /** WebSocket ping interval in ms; a socket that misses one pong is dropped. Env `HEARTBEAT_INTERVAL_MS`. Default 30000. */
  heartbeatIntervalMs: number;
  /** STUN server URLs handed to clients. Env `STUN_URLS` (comma-separated), flag `--stun`. Default none. */
  stunUrls: string[];
  /** pino log level. Env `LOG_LEVEL`, flag `--log-level`. Default `info`. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Folder with the built web app; empty string serves none. Env `WEB_ROOT`. Default the bundled app. */
  webRoot: string;
}

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../web/", import.meta.url));

const url = z.string().regex(/^(stun|stuns|turn|turns):/i, "must be a stun:/turn: URL");
// A comma-separated string (env, flags) or an array (programmatic overrides).
const list = z.union([
  z.array(url),
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== ""),
    )
    .pipe(z.array(url)),
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

const configSchema = z.object({
  port: int(0, 65535).default(3000),
  host: z.string().min(1).default("0.0.0.0"),
  maxPeers: int(2, 1024).default(2),
  maxMessageBytes: int(1024, 16 * 1024 * 1024).default(65536),
  heartbeatIntervalMs: int(1000, 3_600_000).default(30_000),
  stunUrls: list.default([]),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  webRoot: z.string().default(DEFAULT_WEB_ROOT),
});

/** Where each option comes from: [env var, CLI flag]. */
const SOURCES: Record<keyof Config, [env: string, flag: string | null]> = {
  port: ["PORT", "port"],
  host: ["HOST", "host"],
  maxPeers: ["MAX_PEERS", "max-peers"],
  maxMessageBytes: ["MAX_MESSAGE_BYTES", "max-message-bytes"],
  heartbeatIntervalMs: ["HEARTBEAT_INTERVAL_MS", "heartbeat-interval-ms"],
  stunUrls: ["STUN_URLS", "stun"],
  logLevel: ["LOG_LEVEL", "log-level"],
  webRoot: ["WEB_ROOT", "web-root"],
};

export class ConfigError extends Error {
  override name = "ConfigError";
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
    overrides?: Partial<Config>;
  } = {},
): Config {
  const env = opts.env ?? {};
  const flags = opts.argv ? parseFlags(opts.argv) : {};
  const raw: Record<string, unknown> = {};
  for (const [key, [envName, flag]] of Object.entries(SOURCES)) {
    const fromFlag = flag ? flags[flag] : undefined;
    const fromEnv = env[envName];
    const value = fromFlag ?? (fromEnv === "" ? undefined : fromEnv);
    if (value !== undefined) raw[key] = value;
  }
  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof Config;
      const [envName, flag] = SOURCES[key] ?? [key, null];
      return `${envName}${flag ? ` / --${flag}` : ""}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return parsed.data;
}

function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  const options = Object.fromEntries(
    Object.values(SOURCES)
      .filter(([, flag]) => flag !== null)
      .map(([, flag]) => [flag as string, { type: "string" as const }]),
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
    throw new ConfigError((error as Error).message);
  }
}

/** The ICE servers handed to clients. */
export function iceServersFor(config: Config): IceServer[] {
  return config.stunUrls.length > 0 ? [{ urls: config.stunUrls }] : [];
}

/** Text for `signalroom --help`. */
export function helpText(): string {
  const rows: [string, string, string][] = [
    ["PORT", "--port", "HTTP and WebSocket port (default 3000)"],
    ["HOST", "--host", "address to bind (default 0.0.0.0)"],
    ["MAX_PEERS", "--max-peers", "room capacity (default 2)"],
    [
      "MAX_MESSAGE_BYTES",
      "--max-message-bytes",
      "largest frame; larger closes 1009 (default 65536)",
    ],
    ["HEARTBEAT_INTERVAL_MS", "--heartbeat-interval-ms", "WebSocket ping interval (default 30000)"],
    ["STUN_URLS", "--stun", "comma-separated stun: URLs for clients (default none)"],
    ["LOG_LEVEL", "--log-level", "fatal|error|warn|info|debug|trace|silent (default info)"],
    ["WEB_ROOT", "--web-root", "folder of the web app to serve (default the bundled app)"],
  ];
  const lines = rows.map(([env, flag, text]) => `  ${flag.padEnd(26)}${env.padEnd(24)}${text}`);
  return [
    "Usage: signalroom [options]",
    "",
    "Starts the Signalroom signaling server and web app.",
    "Every option can be given as a flag or as an environment variable:",
    "",
    ...lines,
    "  --help                                            show this text",
    "",
  ].join("\n");
}
