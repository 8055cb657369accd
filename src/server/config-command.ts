import { configWarnings } from "./app.js";
import { type Config, ConfigError, loadConfig, OPTIONS, redactedConfig } from "./config.js";
import { preflightChecks } from "./preflight.js";

/** The usage lines of the two configuration commands, for the top of `--help`. */
export const CONFIG_COMMANDS_USAGE = [
  "       signalroom check-config [options]   check the configuration as a start would; lists every problem, exits 0 or 2",
  "       signalroom config [options]         print the effective configuration as JSON, secrets redacted",
];

type Env = Record<string, string | undefined>;

/** What `signalroom check-config` found: every problem (one line each) and every warning. */
export interface ConfigCheck {
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/** Rounds of "set the broken option aside and look again"; each sets at least one aside. */
const MAX_ROUNDS = 50;

/**
 * `signalroom check-config`: loads the configuration exactly as a start
 * does (`loadConfig`), then runs the start's checks that need no network
 * (`preflightChecks`: TRUST_PROXY, AUTH_PUBLIC_KEY, the TLS files, WEB_ROOT).
 *
 * Every problem at once: an option that fails validation is set aside (as
 * if not given) and the configuration is loaded again, so a bad PORT does
 * not hide an unreadable TLS_KEY. What only appears because an option was
 * set aside (its default clashing with another option) is not reported.
 */
export function checkConfig(argv: readonly string[], env: Env): ConfigCheck {
  const problems: string[] = [];
  let args = [...argv];
  const environment: Env = { ...env };
  /** Whether a valid option has been replaced by its default: later clashes may be ours. */
  let setAside = false;
  let config: Config | null = null;
  for (let round = 0; round < MAX_ROUNDS && config === null; round++) {
    try {
      config = loadConfig({ env: environment, argv: args });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const found = splitProblems(error.message);
      // Flags that cannot be read hide the validation behind them; those are always real.
      const unreadable = found.map(unreadableArgument);
      if (unreadable.every((token) => token !== null)) {
        problems.push(...found);
        const rest = withoutTokens(args, unreadable as string[]);
        if (rest.length === args.length) break; // Not found to set aside: stop here.
        args = rest;
        continue;
      }
      if (!setAside) problems.push(...found);
      const options = found.map(optionOf);
      if (options.some((option) => option === null)) break; // Nothing known to set aside: stop here.
      for (const option of options as { env: string; flag: string }[]) {
        delete environment[option.env];
        args = withoutFlag(args, option.flag);
      }
      setAside = true;
    }
  }
  if (config === null) return { problems, warnings: [] };
  const checked = preflightChecks(config);
  if (!checked.ok) problems.push(...checked.problems.map((problem) => problem.message));
  // Warnings about a configuration with options set aside would be about another one.
  return { problems, warnings: setAside ? [] : configWarnings(config) };
}

/** The report `signalroom check-config` prints, and its exit code. */
export function checkConfigReport(check: ConfigCheck): {
  stdout: string;
  stderr: string;
  code: number;
} {
  const warnings = check.warnings.map((warning) => `warning: ${warning}\n`).join("");
  if (check.problems.length === 0) {
    return { stdout: "signalroom: configuration OK\n", stderr: warnings, code: 0 };
  }
  const n = check.problems.length;
  return {
    stdout: "",
    stderr:
      `signalroom: ${n} problem${n === 1 ? "" : "s"}:\n` +
      check.problems.map((problem) => `  ${problem}\n`).join("") +
      warnings +
      "(signalroom --help lists every option)\n",
    code: 2,
  };
}

/**
 * `signalroom config`: the effective configuration as JSON, secrets
 * redacted, every option shown (an unset one as null); a ConfigError as a
 * start would.
 */
export function configCommand(argv: readonly string[], env: Env): string {
  const config = redactedConfig(loadConfig({ env, argv }));
  // In OPTIONS' order (as --help lists them), the unset ones too.
  const shown = Object.fromEntries(Object.keys(OPTIONS).map((key) => [key, config[key] ?? null]));
  return `${JSON.stringify(shown, null, 2)}\n`;
}

/** `loadConfig`'s message: one problem, or "N problems:" and one indented line each. */
function splitProblems(message: string): string[] {
  const lines = message.split("\n");
  if (lines.length > 1 && /^\d+ problems:$/.test(lines[0] ?? "")) {
    return lines.slice(1).map((line) => line.trim());
  }
  return [message];
}

/** "PORT / --port: ..." -> the option's variable and flag. */
function optionOf(problem: string): { env: string; flag: string } | null {
  const match = /^([A-Z][A-Z0-9_]*) \/ --([a-z0-9-]+): /.exec(problem);
  return match ? { env: match[1] as string, flag: match[2] as string } : null;
}

/** The argument a flag-parsing problem is about ("--nope: unknown option"), or null for other problems. */
function unreadableArgument(problem: string): string | null {
  const flag = /^(-[^\s:]*): (unknown option|needs a value)$/.exec(problem);
  if (flag) return flag[1] as string;
  const positional = /^'(.*)': unexpected argument/.exec(problem);
  return positional ? (positional[1] as string) : null;
}

/** `args` without the first occurrence of each token (or `token=...`). */
function withoutTokens(args: readonly string[], tokens: readonly string[]): string[] {
  const rest = [...args];
  for (const token of tokens) {
    const at = rest.findIndex((arg) => arg === token || arg.startsWith(`${token}=`));
    if (at >= 0) rest.splice(at, 1);
  }
  return rest;
}

/** `args` without `--flag value` and `--flag=value`. */
function withoutFlag(args: readonly string[], flag: string): string[] {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === `--${flag}`) i++;
    else if (!arg.startsWith(`--${flag}=`)) rest.push(arg);
  }
  return rest;
}
