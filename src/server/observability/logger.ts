import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

export type LogFormat = "auto" | "json" | "pretty";

/**
 * The server's structured logger on stdout: JSON lines for machines (log
 * shippers, `journalctl -o json`), readable lines for a person at a
 * terminal. `auto` picks by whether stdout is a terminal.
 */
export function createLogger(level: string, format: LogFormat = "json"): Logger {
  const options = {
    level,
    base: { service: "signalroom" },
    // Join tokens must never reach the logs, wherever they hide.
    redact: { paths: ["token", "*.token", "req.headers.authorization"], censor: "[redacted]" },
  };
  const readable = format === "pretty" || (format === "auto" && process.stdout.isTTY === true);
  if (!readable) return pino(options);
  // Synchronous, in this thread: a line is out before the process exits on an error.
  return pino(
    options,
    pretty({
      sync: true,
      singleLine: true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service",
    }),
  );
}
