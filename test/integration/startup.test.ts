import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startSignalroom } from "../../src/server/app.js";
import { type Config, loadConfig, OPTIONS } from "../../src/server/config.js";
import { OPENSSL, selfSignedCertificate } from "../helpers/certificates.js";
import { type CliRun, runSignalroom } from "../helpers/cli.js";
import { captureLogs } from "../helpers/logs.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { startJwksServer } from "../helpers/tokens.js";
import { within } from "../helpers/wait.js";

/**
 * Start-up as an operator meets it: the CLI run for real (`tsx` on the
 * sources, as `npm run dev` does), with a configuration that cannot work.
 * Each must end at once with exit code 2 and the one line that names the
 * option and says what is wrong, then the hint where to read more: no stack
 * trace, no usage, nothing on stdout (where the JSON logs go).
 */

const ROOT = join(import.meta.dirname, "..", "..");
/** The line after every configuration error. */
const HINT = "(signalroom --help lists every option)";
/** A CLI that neither starts nor fails within this is a failure of its own. */
const RUN_TIMEOUT_MS = 30_000;

/** Runs `signalroom` with only `env` (and PATH); bounded, killed by its pid if still running. */
function runCli(env: Record<string, string>, args: readonly string[] = []): Promise<CliRun> {
  return runSignalroom(args, env, RUN_TIMEOUT_MS);
}

/** Exit 2, exactly `firstLine` and the hint on stderr, nothing on stdout. */
function assertConfigError(run: CliRun, firstLine: string | RegExp): void {
  const shown = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 2, `exit code 2 expected (signal ${run.signal}); ${shown}`);
  assert.equal(run.stdout, "", `nothing on stdout expected; ${shown}`);
  assert.ok(!run.stderr.includes("    at "), `a stack trace on stderr; ${shown}`);
  assert.ok(!run.stderr.includes("Usage:"), `the usage on stderr; ${shown}`);
  const lines = run.stderr.split("\n");
  if (firstLine instanceof RegExp) {
    assert.match(lines[0] ?? "", firstLine, shown);
    assert.deepEqual(lines.slice(1), [HINT, ""], shown);
  } else {
    assert.deepEqual(lines, [firstLine, HINT, ""], shown);
  }
}

interface Fixtures {
  /** A web root with an index.html: a server that gets past its config would not warn. */
  readonly webRoot: string;
  readonly cert: string;
  readonly key: string;
  /** The key of another certificate. */
  readonly otherKey: string;
  readonly folder: string;
  readonly notPem: string;
  readonly brokenPem: string;
  readonly brokenKey: string;
  readonly encryptedKey: string;
  readonly missing: string;
}

interface ConfigCase {
  readonly name: string;
  readonly env: (f: Fixtures) => Record<string, string>;
  /** The whole first line on stderr (a pattern where OpenSSL's words are part of it). */
  readonly line: (f: Fixtures) => string | RegExp;
}

const CASES: readonly ConfigCase[] = [
  {
    name: "TLS_CERT that does not exist",
    env: (f) => ({ TLS_CERT: f.missing, TLS_KEY: f.key }),
    line: (f) => `signalroom: TLS_CERT / --tls-cert: cannot read ${f.missing}: no such file`,
  },
  {
    name: "TLS_CERT that is a folder",
    env: (f) => ({ TLS_CERT: f.folder, TLS_KEY: f.key }),
    line: (f) => `signalroom: TLS_CERT / --tls-cert: cannot read ${f.folder}: is a folder`,
  },
  {
    name: "TLS_CERT that is not PEM",
    env: (f) => ({ TLS_CERT: f.notPem, TLS_KEY: f.key }),
    line: (f) => `signalroom: TLS_CERT / --tls-cert: ${f.notPem} is not a PEM file`,
  },
  {
    name: "TLS_CERT that looks like PEM but holds no certificate",
    env: (f) => ({ TLS_CERT: f.brokenPem, TLS_KEY: f.key }),
    line: (f) =>
      new RegExp(
        `^signalroom: TLS_CERT / --tls-cert: ${f.brokenPem} holds no usable certificate \\(.+\\)$`,
      ),
  },
  {
    name: "TLS_KEY that looks like PEM but holds no key",
    env: (f) => ({ TLS_CERT: f.cert, TLS_KEY: f.brokenKey }),
    line: (f) =>
      new RegExp(
        `^signalroom: TLS_KEY / --tls-key: ${f.brokenKey} holds no usable private key \\(.+\\)$`,
      ),
  },
  {
    name: "TLS_KEY encrypted with a passphrase",
    env: (f) => ({ TLS_CERT: f.cert, TLS_KEY: f.encryptedKey }),
    line: (f) =>
      `signalroom: TLS_KEY / --tls-key: ${f.encryptedKey} is encrypted; give the key without a passphrase (keep the file readable by this user only)`,
  },
  {
    name: "AUTH_PUBLIC_KEY that does not exist",
    env: (f) => ({ AUTH_PUBLIC_KEY: f.missing }),
    line: (f) =>
      `signalroom: AUTH_PUBLIC_KEY / --auth-public-key: cannot read ${f.missing}: no such file`,
  },
  {
    name: "TLS_CERT and TLS_KEY swapped",
    env: (f) => ({ TLS_CERT: f.key, TLS_KEY: f.cert }),
    line: (f) =>
      `signalroom: TLS_CERT / --tls-cert: ${f.key} holds a private key, not a certificate (are TLS_CERT and TLS_KEY swapped?)`,
  },
  {
    name: "TLS_KEY of another certificate",
    env: (f) => ({ TLS_CERT: f.cert, TLS_KEY: f.otherKey }),
    line: () =>
      "signalroom: TLS_KEY / --tls-key: the key does not belong to TLS_CERT's certificate",
  },
  {
    name: "HOST that does not resolve",
    env: () => ({ HOST: "signalroom-no-such-host.invalid" }),
    line: () => 'signalroom: HOST / --host: cannot resolve "signalroom-no-such-host.invalid"',
  },
  {
    name: "HOST that is not an address of this machine",
    // TEST-NET-1 (RFC 5737): never assigned to a real interface.
    env: () => ({ HOST: "192.0.2.1" }),
    line: () => "signalroom: HOST / --host: 192.0.2.1 is not an address of this machine",
  },
  {
    name: "WEB_ROOT that does not exist",
    env: () => ({ WEB_ROOT: "/nonexistent" }),
    line: () =>
      'signalroom: WEB_ROOT / --web-root: no index.html in /nonexistent (build the app there, or --web-root "" to serve none)',
  },
  {
    name: "AUTH_ISSUER without a key",
    env: () => ({ AUTH_ISSUER: "https://idp.example" }),
    line: () =>
      "signalroom: AUTH_ISSUER / --auth-issuer: needs a key to check tokens with: set AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL",
  },
  {
    name: "AUTH_AUDIENCE without a key",
    env: () => ({ AUTH_AUDIENCE: "signalroom" }),
    line: () =>
      "signalroom: AUTH_AUDIENCE / --auth-audience: needs a key to check tokens with: set AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL",
  },
  {
    name: "AUTH_JWKS_URL over plain http to another host",
    env: () => ({ AUTH_JWKS_URL: "http://idp.example/jwks" }),
    line: () =>
      "signalroom: AUTH_JWKS_URL / --auth-jwks-url: must be https:// (plain http is allowed only to a loopback host)",
  },
  {
    name: "MAX_MESSAGE_BYTES above MAX_BUFFERED_BYTES",
    env: () => ({ MAX_MESSAGE_BYTES: "2000000", MAX_BUFFERED_BYTES: "1048576" }),
    line: () =>
      "signalroom: MAX_MESSAGE_BYTES / --max-message-bytes: must not exceed MAX_BUFFERED_BYTES (a reader sent one such frame would be cut as slow at the next)",
  },
  {
    name: "PORT that is not a number",
    env: () => ({ PORT: "abc" }),
    line: () => "signalroom: PORT / --port: must be a whole number",
  },
];

describe("start-up with a configuration that cannot work (the CLI)", { concurrency: 4 }, () => {
  let dir: string;
  let fixtures: Fixtures;
  let baseEnv: Record<string, string>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "signalroom-startup-"));
    const web = join(dir, "web");
    mkdirSync(web);
    writeFileSync(join(web, "index.html"), "<!doctype html><title>test</title>\n");
    const mine = selfSignedCertificate(dir, "mine");
    const other = selfSignedCertificate(dir, "other");
    const folder = join(dir, "folder");
    mkdirSync(folder);
    const notPem = join(dir, "not-pem.txt");
    writeFileSync(notPem, "this is not a certificate\n");
    const brokenPem = join(dir, "broken.pem");
    writeFileSync(
      brokenPem,
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    );
    const brokenKey = join(dir, "broken-key.pem");
    writeFileSync(
      brokenKey,
      "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    );
    const encryptedKey = join(dir, "encrypted-key.pem");
    const encrypted = spawnSync(OPENSSL, [
      "pkcs8",
      "-topk8",
      "-in",
      mine.key,
      "-passout",
      "pass:secret",
      "-out",
      encryptedKey,
    ]);
    assert.equal(encrypted.status, 0, `openssl pkcs8: ${encrypted.stderr}`);
    fixtures = {
      brokenPem,
      brokenKey,
      encryptedKey,
      webRoot: web,
      cert: mine.cert,
      key: mine.key,
      otherKey: other.key,
      folder,
      notPem,
      missing: join(dir, "missing.pem"),
    };
    baseEnv = { PORT: "0", HOST: "127.0.0.1", WEB_ROOT: web };
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: exit 2, one line naming the option`, async () => {
      const run = await runCli({ ...baseEnv, ...c.env(fixtures) });
      assertConfigError(run, c.line(fixtures));
    });
  }

  it("two problems at once: exit 2, a count and one line each", async () => {
    const run = await runCli({ ...baseEnv, PORT: "abc", LOG_LEVEL: "loud" });
    const shown = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    assert.equal(run.code, 2, shown);
    assert.equal(run.stdout, "", shown);
    assert.ok(!run.stderr.includes("    at "), `a stack trace on stderr; ${shown}`);
    assert.ok(!run.stderr.includes("Usage:"), `the usage on stderr; ${shown}`);
    const lines = run.stderr.split("\n");
    assert.equal(lines.length, 5, shown);
    assert.equal(lines[0], "signalroom: 2 problems:", shown);
    assert.equal(lines[1], "  PORT / --port: must be a whole number", shown);
    assert.match(
      lines[2] ?? "",
      /^ {2}LOG_LEVEL \/ --log-level: .*"fatal".*"silent"/,
      `the second problem names LOG_LEVEL and its choices; ${shown}`,
    );
    assert.equal(lines[3], HINT, shown);
    assert.equal(lines[4], "", shown);
  });

  it("an unknown flag: exit 2, a short message naming it", async () => {
    const run = await runCli(baseEnv, ["--nope"]);
    const shown = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    assert.equal(run.code, 2, shown);
    assert.equal(run.stdout, "", shown);
    assert.ok(!run.stderr.includes("Usage:"), `the usage on stderr; ${shown}`);
    const lines = run.stderr.split("\n");
    assert.equal(lines.length, 3, `two lines expected; ${shown}`);
    assert.equal(lines[0], "signalroom: --nope: unknown option", shown);
    assert.equal(lines[1], HINT, shown);
  });

  it("--help: exit 0, every option in aligned columns", async () => {
    const run = await runCli(baseEnv, ["--help"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const rows = run.stdout.split("\n").filter((line) => line.startsWith("  --"));
    const specs = Object.values(OPTIONS);
    assert.equal(rows.length, specs.length + 1, `one row per option and --help:\n${run.stdout}`);
    const envColumns = new Set<number>();
    const helpColumns = new Set<number>();
    for (const spec of specs) {
      const row = rows.find((r) => r.startsWith(`  --${spec.flag} `));
      assert.ok(row, `no row for --${spec.flag}:\n${run.stdout}`);
      const envAt = row.indexOf(` ${spec.env} `) + 1;
      assert.ok(envAt > 0, `--${spec.flag}'s row does not name ${spec.env}: ${row}`);
      assert.ok(row.endsWith(`${spec.help} (default ${spec.default})`), row);
      envColumns.add(envAt);
      helpColumns.add(row.length - `${spec.help} (default ${spec.default})`.length);
    }
    const helpRow = rows.find((r) => r.startsWith("  --help "));
    assert.ok(helpRow, `no --help row:\n${run.stdout}`);
    assert.ok(helpRow.endsWith("show this text"), helpRow);
    helpColumns.add(helpRow.length - "show this text".length);
    assert.equal(envColumns.size, 1, `variables in more than one column:\n${rows.join("\n")}`);
    assert.equal(helpColumns.size, 1, `descriptions in more than one column:\n${rows.join("\n")}`);
    // The columns are two spaces apart at least, also after the longest flag and variable.
    const [envAt = 0] = envColumns;
    const [helpAt = 0] = helpColumns;
    for (const row of rows) {
      assert.equal(row.slice(envAt - 2, envAt), "  ", `no gap before the variable: ${row}`);
      assert.equal(row.slice(helpAt - 2, helpAt), "  ", `no gap before the description: ${row}`);
    }
  });
});

/** The warnings logged once at start, from a server started in this process. */
async function startWarnings(overrides: Partial<Config>): Promise<string[]> {
  const logs = captureLogs("warn");
  const config = loadConfig({
    overrides: { port: 0, host: "127.0.0.1", webRoot: "", ...overrides },
  });
  const app = await startSignalroom(config, { logger: logs.logger });
  try {
    return logs
      .entries()
      .filter((entry) => entry.level === 40)
      .map((entry) => String(entry.msg));
  } finally {
    await app.close();
  }
}

const TURN = { turnUrls: ["turn:127.0.0.1:3478"], turnSecrets: ["a-turn-secret-of-16+"] };
const AUTH_SECRET = "signalroom-test-secret-0123456789abcdef";

describe("warnings at start about what is allowed but unwise", () => {
  it("TURN without auth: warns that it is an open relay", async () => {
    const warnings = await startWarnings(TURN);
    const relay = warnings.filter((w) => w.includes("open relay"));
    assert.equal(relay.length, 1, `one open-relay warning expected: ${JSON.stringify(warnings)}`);
    assert.match(relay[0] ?? "", /^TURN without auth/);
  });

  it("TURN with auth: no open-relay warning", async () => {
    const warnings = await startWarnings({ ...TURN, authSecret: AUTH_SECRET });
    assert.deepEqual(
      warnings.filter((w) => w.includes("open relay")),
      [],
      JSON.stringify(warnings),
    );
  });

  it("AUTH_JWKS_URL (http to loopback is allowed) without AUTH_AUDIENCE: warns to set it", async () => {
    const jwks = await startJwksServer([]);
    try {
      const warnings = await startWarnings({ authJwksUrl: jwks.url });
      const audience = warnings.filter((w) => w.includes("set AUTH_AUDIENCE"));
      assert.equal(audience.length, 1, `one AUTH_AUDIENCE warning: ${JSON.stringify(warnings)}`);
      assert.match(audience[0] ?? "", /^AUTH_JWKS_URL without AUTH_AUDIENCE/);
    } finally {
      await jwks.close();
    }
  });

  it("AUTH_JWKS_URL with AUTH_AUDIENCE: no warning about it", async () => {
    const jwks = await startJwksServer([]);
    try {
      const warnings = await startWarnings({ authJwksUrl: jwks.url, authAudience: "signalroom" });
      assert.deepEqual(
        warnings.filter((w) => w.includes("AUTH_AUDIENCE")),
        [],
        JSON.stringify(warnings),
      );
    } finally {
      await jwks.close();
    }
  });
});

/** Handles that keep a process alive or would show a leak: listeners, sockets, timers. */
function liveResources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name === "Timeout" || name.startsWith("TCP"))
    .sort();
}

/** A few turns of the event loop: handles being closed are gone after. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits (bounded) until no kind of handle is more numerous than in
 * `before`: a closed handle is listed until the loop has run its close
 * callback, a leaked one stays.
 */
async function noMoreResources(before: readonly string[], timeoutMs = 3000): Promise<void> {
  const count = (names: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
    return counts;
  };
  const allowed = count(before);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await settle();
    const now = liveResources();
    const extra = [...count(now)].filter(([name, n]) => n > (allowed.get(name) ?? 0));
    if (extra.length === 0) return;
    if (Date.now() >= deadline) {
      assert.fail(
        `handles left after the failed start: ${JSON.stringify(now)}, before: ${JSON.stringify(before)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Records the intervals started while `run` runs and which of them were
 * cleared. The gateway's heartbeat is unref'd: it keeps no process alive and
 * `getActiveResourcesInfo` does not list it, so only this sees it leak.
 */
async function trackIntervals<T>(
  run: () => Promise<T>,
): Promise<{ result: PromiseSettledResult<T>; started: number; running: number }> {
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  const live = new Set<unknown>();
  let started = 0;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const timer = realSet(...args);
    started++;
    live.add(timer);
    return timer;
  }) as typeof setInterval;
  globalThis.clearInterval = ((timer: Parameters<typeof clearInterval>[0]) => {
    live.delete(timer);
    realClear(timer);
  }) as typeof clearInterval;
  let result: PromiseSettledResult<T>;
  try {
    result = await run().then(
      (value) => ({ status: "fulfilled", value }) as const,
      (reason: unknown) => ({ status: "rejected", reason }) as const,
    );
  } finally {
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
  }
  const running = live.size;
  for (const timer of live) realClear(timer as NodeJS.Timeout);
  return { result, started, running };
}

/**
 * A start on PORT (taken) with REDIS_URL, run in a child: prints how it
 * ended as one JSON line, then waits for its stdin to close and returns.
 */
const FAILED_START = `
import { startSignalroom } from "./src/server/app.js";
import { loadConfig } from "./src/server/config.js";
const config = loadConfig({ env: process.env, overrides: { webRoot: "" } });
try {
  const app = await startSignalroom(config);
  console.log(JSON.stringify({ started: true }));
  await app.close();
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }));
}
process.stdin.resume();
await new Promise((resolve) => process.stdin.once("end", resolve));
`;

/** A port on 127.0.0.1 held by a plain TCP listener. */
async function occupiedPort(): Promise<{ port: number; blocker: Server }> {
  const blocker = createServer();
  blocker.listen(0, "127.0.0.1");
  await once(blocker, "listening");
  const address = blocker.address();
  assert.ok(address !== null && typeof address === "object", "the blocker has no port");
  return { port: address.port, blocker };
}

/** Starts on a port that is taken; the start must fail with EADDRINUSE and leave nothing running. */
async function failedStart(overrides: Partial<Config>): Promise<void> {
  const { port, blocker } = await occupiedPort();
  try {
    const logs = captureLogs("warn");
    const config = loadConfig({
      overrides: { port, host: "127.0.0.1", webRoot: "", ...overrides },
    });
    await settle();
    const before = liveResources();
    const { result, started, running } = await trackIntervals(() =>
      startSignalroom(config, { logger: logs.logger }),
    );
    if (result.status === "fulfilled") {
      await result.value.close();
      assert.fail(`started on port ${port}, which was taken`);
    }
    assert.equal(
      (result.reason as NodeJS.ErrnoException).code,
      "EADDRINUSE",
      `EADDRINUSE expected: ${String(result.reason)}`,
    );
    assert.ok(started >= 1, "no interval was started: the heartbeat cannot have been checked");
    assert.equal(running, 0, `${running} interval(s) left running after the failed start`);
    await noMoreResources(before);
  } finally {
    blocker.close();
    await once(blocker, "close");
  }
}

describe("a start whose listen fails leaves nothing running", () => {
  it("in-memory rooms: rejects with EADDRINUSE; no heartbeat, no handle left", async () => {
    await failedStart({});
  });

  describe("with REDIS_URL", () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });

    /** Connections redis-server has open now (the one asking included). */
    const clients = async () => (await redis.command("CLIENT", "LIST")).trim().split("\n").length;
    const connectionsReceived = async () => {
      const info = await redis.command("INFO", "stats");
      const match = /^total_connections_received:(\d+)/m.exec(info);
      assert.ok(match, `no total_connections_received in INFO stats:\n${info}`);
      return Number(match[1]);
    };

    // In a process of its own: leaked Redis clients reconnect for ever and
    // would keep the test process alive; a child is killed by its pid.
    it("rejects with EADDRINUSE, closes its Redis connections, and its process exits by itself", async () => {
      const { port, blocker } = await occupiedPort();
      const baseline = await clients();
      const receivedBefore = await connectionsReceived();
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "--eval", FAILED_START],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            PORT: String(port),
            HOST: "127.0.0.1",
            REDIS_URL: redis.url,
            LOG_LEVEL: "silent",
          },
          stdio: ["pipe", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const exited = once(child, "exit");
      try {
        // The child says how the start ended, then waits for its stdin to close.
        const deadline = Date.now() + RUN_TIMEOUT_MS;
        while (!stdout.includes("\n")) {
          assert.ok(child.exitCode === null, `the child exited early:\n${stdout}${stderr}`);
          assert.ok(Date.now() < deadline, `no result from the child:\n${stdout}${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const result = JSON.parse(stdout.split("\n")[0] ?? "") as Record<string, unknown>;
        assert.equal(result.code, "EADDRINUSE", `EADDRINUSE expected: ${stdout}${stderr}`);
        // The start did connect (two connections, plus the one asking now)...
        const received = (await connectionsReceived()) - receivedBefore;
        assert.ok(received >= 3, `the failed start never connected to Redis (${received - 1})`);
        // ...and closed them again, while its process still runs.
        const until = Date.now() + 5000;
        let now = await clients();
        while (now !== baseline && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          now = await clients();
        }
        assert.equal(now, baseline, "Redis connections left open after the failed start");
        // Nothing else keeps it alive either: no socket, no timer.
        child.stdin.end();
        await within(exited, 10_000, "the child to exit by itself after the failed start");
        assert.equal(child.exitCode, 0, stderr);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        blocker.close();
        await once(blocker, "close");
      }
    });
  });
});
