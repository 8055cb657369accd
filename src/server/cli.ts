#!/usr/bin/env node
import { startSignalroom } from "./app.js";
import { ConfigError, helpText, loadConfig } from "./config.js";
import { TOKEN_HELP, tokenCommand } from "./token-command.js";

/**
 * `signalroom [options]`: argv + env -> config -> app, until SIGINT/SIGTERM.
 * `signalroom token ...`: mints a join token and exits.
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
    process.stdout.write(helpText());
    return;
  }
  const config = loadConfig({ env: process.env, argv });
  const app = await startSignalroom(config);
  const stop = (signal: string) => {
    app.logger.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    const help = process.argv[2] === "token" ? TOKEN_HELP : helpText();
    process.stderr.write(`signalroom: ${error.message}\n\n${help}`);
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
