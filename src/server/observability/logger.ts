import { type Logger, pino } from "pino";

/** The server's structured logger (JSON lines on stdout). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "signalroom" },
    // Join tokens must never reach the logs, wherever they hide.
    redact: { paths: ["token", "*.token", "req.headers.authorization"], censor: "[redacted]" },
  });
}
