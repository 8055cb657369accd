import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

/** A pino logger writing to memory, for tests that read the server's logs. */
export interface CapturedLogs {
  readonly logger: Logger;
  /** Every line written, as text. */
  readonly lines: string[];
  /** Every line written, parsed. */
  entries(): Record<string, unknown>[];
}

export function captureLogs(level: pino.LevelWithSilent): CapturedLogs {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return {
    logger: pino({ level }, sink),
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
