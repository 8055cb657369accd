import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OPTIONS } from "../../src/server/config.js";
import { selfSignedCertificate } from "../helpers/certificates.js";
import { type CliRun, runSignalroom } from "../helpers/cli.js";

/**
 * `signalroom check-config` and `signalroom config` run for real (`tsx` on
 * the sources, as `npm run dev` does), with only the given environment.
 */

const HINT = "(signalroom --help lists every option)";
/** A CLI that has not exited within this is a failure of its own. */
const RUN_TIMEOUT_MS = 30_000;
const AUTH_SECRET = "cli-commands-test-secret-0123456789abcdef";
const TURN_SECRET = "cli-commands-turn-secret-0123456789";
const METRICS_TOKEN = "cli-commands-metrics-token-0123";
const REDIS_PASSWORD = "cli-commands-redis-password";

/** Runs `signalroom ...args` with only `env` (and PATH); bounded, killed by its pid if still running. */
function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runSignalroom(args, env, RUN_TIMEOUT_MS);
}

function shown(run: CliRun): string {
  return `exit ${run.code} (signal ${run.signal})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

/** Exit 2, nothing on stdout, and exactly `problems` under the count, then the hint. */
function assertProblems(run: CliRun, problems: readonly string[]): void {
  assert.equal(run.code, 2, shown(run));
  assert.equal(run.stdout, "", shown(run));
  assert.ok(!run.stderr.includes("    at "), `a stack trace; ${shown(run)}`);
  const n = problems.length;
  assert.deepEqual(
    run.stderr.split("\n"),
    [
      `signalroom: ${n} problem${n === 1 ? "" : "s"}:`,
      ...problems.map((problem) => `  ${problem}`),
      HINT,
      "",
    ],
    shown(run),
  );
}

describe("signalroom check-config", () => {
  let dir: string;
  let web: string;
  let cert: string;
  let key: string;
  let otherKey: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "signalroom-cli-commands-"));
    web = join(dir, "web");
    mkdirSync(web);
    writeFileSync(join(web, "index.html"), "<!doctype html><title>test</title>\n");
    ({ cert, key } = selfSignedCertificate(dir, "mine"));
    otherKey = selfSignedCertificate(dir, "other").key;
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a good configuration: OK on stdout, exit 0, nothing else", async () => {
    const run = await runCli(["check-config", "--port", "4443"], {
      WEB_ROOT: web,
      TLS_CERT: cert,
      TLS_KEY: key,
      AUTH_SECRET,
      TRUST_PROXY: "loopback, 10.0.0.0/8",
    });
    assert.equal(run.code, 0, shown(run));
    assert.equal(run.stdout, "signalroom: configuration OK\n", shown(run));
    assert.equal(run.stderr, "", shown(run));
  });

  it("the defaults are a good configuration", async () => {
    const run = await runCli(["check-config"]);
    assert.equal(run.code, 0, shown(run));
    assert.equal(run.stdout, "signalroom: configuration OK\n", shown(run));
  });

  it("says what is unwise as warnings, and still exits 0", async () => {
    const run = await runCli(["check-config"], {
      WEB_ROOT: web,
      TURN_URLS: "turn:turn.example.org:3478",
      TURN_SECRET,
      AUTH_JWKS_URL: "https://idp.example/jwks",
    });
    assert.equal(run.code, 0, shown(run));
    assert.equal(run.stdout, "signalroom: configuration OK\n", shown(run));
    assert.deepEqual(
      run.stderr.split("\n"),
      [
        "warning: AUTH_JWKS_URL without AUTH_AUDIENCE: tokens the identity provider issued for any other service are accepted here; set AUTH_AUDIENCE",
        "",
      ],
      shown(run),
    );
    const open = await runCli(["check-config"], {
      WEB_ROOT: web,
      TURN_URLS: "turn:turn.example.org:3478",
      TURN_SECRET,
    });
    assert.equal(open.code, 0, shown(open));
    assert.match(open.stderr, /^warning: TURN without auth: /, shown(open));
    assert.equal(open.stderr.split("\n").length, 2, shown(open));
  });

  it("lists every problem at once: flags, values, and the files a start reads", async () => {
    const run = await runCli(
      ["check-config", "--nope", "--max-peers", "5000", "--log-level=loud"],
      {
        PORT: "abc",
        TRUST_PROXY: "not-an-address",
        AUTH_PUBLIC_KEY: join(dir, "missing-public.pem"),
        TLS_CERT: cert,
        TLS_KEY: otherKey,
        WEB_ROOT: join(dir, "no-such-web"),
      },
    );
    assertProblems(run, [
      "--nope: unknown option",
      "PORT / --port: must be a whole number",
      "MAX_PEERS / --max-peers: Too big: expected number to be <=1024",
      'LOG_LEVEL / --log-level: must be "fatal", "error", "warn", "info", "debug", "trace" or "silent"',
      "TRUST_PROXY / --trust-proxy: invalid IP address: not-an-address",
      `AUTH_PUBLIC_KEY / --auth-public-key: cannot read ${join(dir, "missing-public.pem")}: no such file`,
      "TLS_KEY / --tls-key: the key does not belong to TLS_CERT's certificate",
      `WEB_ROOT / --web-root: no index.html in ${join(dir, "no-such-web")} (build the app there, or --web-root "" to serve none)`,
    ]);
  });

  it("one problem is one problem", async () => {
    const run = await runCli(["check-config"], { WEB_ROOT: web, TLS_CERT: cert });
    assertProblems(run, ["TLS_CERT / --tls-cert: TLS_CERT and TLS_KEY go together"]);
  });

  it("does not report what only setting a bad option aside made wrong", async () => {
    // With MAX_ROOM_CAPACITY set aside its default (16) is below MAX_PEERS: not the operator's problem.
    const run = await runCli(["check-config"], {
      WEB_ROOT: web,
      MAX_ROOM_CAPACITY: "lots",
      MAX_PEERS: "20",
    });
    assertProblems(run, ["MAX_ROOM_CAPACITY / --max-room-capacity: must be a whole number"]);
  });

  it("reads a flag's value after an unknown flag as the stray argument it is", async () => {
    const run = await runCli(["check-config", "--nope", "value", "--port", "x"], {
      WEB_ROOT: web,
    });
    assertProblems(run, [
      "--nope: unknown option",
      "'value': unexpected argument (options are --name value)",
      "PORT / --port: must be a whole number",
    ]);
  });

  it("finds what a start would refuse, in the start's words", async () => {
    const cases: Record<string, string>[] = [
      { WEB_ROOT: join(dir, "no-such-web") },
      { WEB_ROOT: web, TRUST_PROXY: "not-an-address" },
      { WEB_ROOT: web, TLS_CERT: key, TLS_KEY: cert },
      { WEB_ROOT: web, AUTH_PUBLIC_KEY: join(web, "index.html") },
    ];
    await Promise.all(
      cases.map(async (env) => {
        const check = await runCli(["check-config"], env);
        assert.equal(check.code, 2, shown(check));
        assert.match(check.stderr, /^signalroom: 1 problem:\n/, shown(check));
        const problem = check.stderr.split("\n")[1]?.trim();
        // A HOST no start can bind: a start that got past the checks fails another way.
        const start = await runCli([], { ...env, HOST: "192.0.2.1", LOG_LEVEL: "silent" });
        assert.equal(start.code, 2, shown(start));
        assert.equal(start.stderr.split("\n")[0], `signalroom: ${problem}`, shown(start));
      }),
    );
  });

  it("--help names both configuration commands among the usage lines", async () => {
    const run = await runCli(["--help"]);
    assert.equal(run.code, 0, shown(run));
    const usage = run.stdout.split("\n\n")[0]?.split("\n") ?? [];
    assert.equal(usage[0], "Usage: signalroom [options]");
    assert.ok(
      usage.some((line) => /^ {7}signalroom check-config \[options\] +\S/.test(line)),
      run.stdout,
    );
    assert.ok(
      usage.some((line) => /^ {7}signalroom config \[options\] +\S/.test(line)),
      run.stdout,
    );
  });
});

describe("signalroom config", () => {
  it("prints the effective configuration as JSON, secrets redacted, exit 0", async () => {
    const run = await runCli(["config", "--port", "4000", "--max-peers=6"], {
      PORT: "5000",
      HOST: "127.0.0.1",
      AUTH_SECRET,
      TURN_URLS: "turn:turn.example.org:3478",
      TURN_SECRET,
      METRICS_TOKEN,
      REDIS_URL: `redis://:${REDIS_PASSWORD}@redis.example:6379`,
      ALLOWED_ORIGINS: "https://Example.org",
    });
    assert.equal(run.code, 0, shown(run));
    assert.equal(run.stderr, "", shown(run));
    for (const secret of [AUTH_SECRET, TURN_SECRET, METRICS_TOKEN, REDIS_PASSWORD]) {
      assert.ok(!run.stdout.includes(secret), `a secret printed: ${secret}\n${run.stdout}`);
    }
    const config = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(config).sort(), Object.keys(OPTIONS).sort());
    // Flags over environment over defaults; lists as lists; values as validated.
    assert.equal(config.port, 4000);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.maxPeers, 6);
    assert.equal(config.maxRoomCapacity, 16);
    assert.deepEqual(config.turnUrls, ["turn:turn.example.org:3478"]);
    assert.deepEqual(config.allowedOrigins, ["https://example.org"]);
    assert.equal(config.authSecret, "[redacted]");
    assert.equal(config.turnSecrets, "[redacted]");
    assert.equal(config.metricsToken, "[redacted]");
    assert.equal(config.redisUrl, "[redacted]");
  });

  it("an unset option is shown as null, an unset secret too (not redacted)", async () => {
    const run = await runCli(["config"]);
    assert.equal(run.code, 0, shown(run));
    const config = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(config.port, 3000);
    assert.equal(config.authSecret, null);
    assert.equal(config.redisUrl, null);
    assert.deepEqual(config.turnSecrets, []);
  });

  it("an invalid configuration: exit 2 and the one line, as a start", async () => {
    const run = await runCli(["config"], { PORT: "abc" });
    assert.equal(run.code, 2, shown(run));
    assert.equal(run.stdout, "", shown(run));
    assert.deepEqual(
      run.stderr.split("\n"),
      ["signalroom: PORT / --port: must be a whole number", HINT, ""],
      shown(run),
    );
  });
});
