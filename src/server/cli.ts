#!/usr/bin/env node
import { startSignalroom } from "./app.js";
import { ConfigError, helpText, loadConfig } from "./config.js";
import {
  CONFIG_COMMANDS_USAGE,
  checkConfig,
  checkConfigReport,
  configCommand,
} from "./config-command.js";
import { TOKEN_HELP, tokenCommand } from "./token-command.js";

/**
 * `signalroom [options]`: argv + env -> config -> app, until SIGINT/SIGTERM
 * (which drain: see `Signalroom.close`; a second signal exits at once).
 * `signalroom token ...`: mints a join token and exits.
 * `signalroom check-config [options]`: every problem a start would meet, exit 0 or 2.
 * `signalroom config [options]`: the effective configuration, secrets redacted.
 */
async function main(argv: string[]): Promise<void> {
  if (argv[0] === "token") {
    const rest = argv.slice(1);
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(TOKEN_HELP);
      return;
    }
    process.stdout.write(`${await tokenCommand(rest, process.env)}\n`);
    return;
  }
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage());
    return;
  }
  if (argv[0] === "check-config") {
    const report = checkConfigReport(checkConfig(argv.slice(1), process.env));
    process.stdout.write(report.stdout);
    process.stderr.write(report.stderr);
    process.exitCode = report.code;
    return;
  }
  if (argv[0] === "config") {
    process.stdout.write(configCommand(argv.slice(1), process.env));
    return;
  }
  const config = loadConfig({ env: process.env, argv });
  const app = await startSignalroom(config);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: the operator means it. No more draining.
      app.logger.warn({ signal }, "exiting at once");
      process.exit(EXIT_ON_SIGNAL[signal] ?? 1);
    }
    stopping = true;
    app.logger.info({ signal, drainMs: config.shutdownDrainMs }, "shutting down");
    // The drain is bounded in close() itself; this is a last resort should
    // anything (a stuck HTTP request) hold the process past it.
    setTimeout(() => process.exit(0), config.shutdownDrainMs + FORCE_EXIT_SLACK_MS).unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** `--help`: the options' table, with the configuration commands among the usage lines. */
function usage(): string {
  const text = helpText();
  // After the last usage line ("Usage: ..." and the lines under it), before the first blank line.
  const end = text.indexOf("\n\n");
  return end < 0
    ? `${text}${CONFIG_COMMANDS_USAGE.join("\n")}\n`
    : `${text.slice(0, end)}\n${CONFIG_COMMANDS_USAGE.join("\n")}${text.slice(end)}`;
}

/** How long past the drain a stuck shutdown may take before the process just exits. */
const FORCE_EXIT_SLACK_MS = 2000;
/** Exit codes after a second signal: 128 + the signal's number, as shells report it. */
const EXIT_ON_SIGNAL: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    // The problem and where to read more: the usage would bury the one line that matters.
    const help = process.argv[2] === "token" ? "signalroom token --help" : "signalroom --help";
    process.stderr.write(`signalroom: ${error.message}\n(${help} lists every option)\n`);
    process.exit(2);
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE" || code === "EACCES" || code === "ENOENT") {
    process.stderr.write(`signalroom: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stderr.write(`signalroom: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
