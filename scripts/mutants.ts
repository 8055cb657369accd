/**
 * Mutation check: proves that the tests pinning a behaviour fail when that
 * behaviour is removed. For each mutant, a fresh copy of the repository
 * (src, test, web, scripts, tsconfig*, package.json, biome.json; a symlink
 * to node_modules) gets one edit, a build where the tests need one, and
 * its listed test files run; they must FAIL. The working tree is never
 * touched.
 *
 *   npx tsx scripts/mutants.ts            every mutant
 *   npx tsx scripts/mutants.ts 4001 quality   mutants whose name contains any of the words
 *   npx tsx scripts/mutants.ts --no-baseline  skip the baseline (npm test: the suite just passed)
 *
 * A `find` string must occur exactly once in its file, or the mutant is
 * STALE (the code moved: update the mutant). Before the mutants, the
 * listed test files run once on an unmutated copy: a test that fails
 * there proves nothing when it fails on a mutant. Exits 1 if the baseline
 * fails, a mutant SURVIVED, or a find string is stale.
 */
import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Mutant {
  /** Short, unique; what the table shows. */
  readonly name: string;
  /** Repository-relative path of the file to edit. */
  readonly file: string;
  /** Exact text that must occur once in `file`. */
  readonly find: string;
  readonly replace: string;
  /** Repository-relative test files that must fail with the edit. */
  readonly tests: readonly string[];
}

const MUTANTS: readonly Mutant[] = [
  {
    name: "a. byte budget: frames cost no bytes (limiter)",
    file: "src/server/limits/message-limiter.ts",
    find: "if (byteLimit) this.#bytes = spent(this.#bytes, bytes);",
    replace: "if (byteLimit) this.#bytes = spent(this.#bytes, 0);",
    tests: ["test/integration/pins-byte-budget.test.ts"],
  },
  {
    name: "a. byte budget: connection passes no byte count",
    file: "src/server/signaling/connection.ts",
    find: "this.#limiter.check(bytes, scale)",
    replace: "this.#limiter.check(0, scale)",
    tests: ["test/integration/pins-byte-budget.test.ts"],
  },
  {
    name: "b. slow reader closed with 1012, not 4001",
    file: "src/server/signaling/connection.ts",
    find: 'CLOSE_CODES.slowConsumer, "reading too slowly"',
    replace: 'CLOSE_CODES.serviceRestart, "reading too slowly"',
    tests: ["test/integration/pins-slow-reader.test.ts"],
  },
  {
    name: "c. flooder's socket not paused on close",
    file: "src/server/signaling/connection.ts",
    find: "policyViolation) socket.pause();",
    replace: "policyViolation) void 0;",
    tests: ["test/integration/pins-flood-pause.test.ts"],
  },
  {
    name: "d. no queue backpressure (QUEUE_HIGH unreachable)",
    file: "src/server/signaling/connection.ts",
    find: "const QUEUE_HIGH = 64;",
    replace: "const QUEUE_HIGH = 1e9;",
    tests: ["test/integration/pins-queue-backpressure.test.ts"],
  },
  {
    name: "e. join timer not restarted after leaving",
    file: "src/server/signaling/connection.ts",
    find: "this.#idleTimer.unref();",
    replace: "this.#idleTimer.unref();\n    if (peerId !== null) this.#clearIdleTimer();",
    tests: ["test/integration/pins-join-timeout.test.ts"],
  },
  {
    name: "f. ready to the joiner without its id",
    file: "src/server/signaling/handlers.ts",
    find: "readySelf: session.encodeReply(",
    replace: "readySelf: encode(",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "f. locked/unlocked to the host without its id",
    file: "src/server/signaling/handlers.ts",
    find: "reply: session.encodeReply(message)",
    replace: "reply: encode(message)",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "f. joiner's id on the other member's ready",
    file: "src/server/signaling/handlers.ts",
    find: "readyOthers: encode(",
    replace: "readyOthers: session.encodeReply(",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "f. joiner's id on peer-joined",
    file: "src/server/signaling/handlers.ts",
    find: "peerJoined: encode(",
    replace: "peerJoined: session.encodeReply(",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "f. host's id on the others' locked",
    file: "src/server/signaling/handlers.ts",
    find: "announce: encode(message)",
    replace: "announce: session.encodeReply(message)",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "f. leaver's id on the others' peer-left",
    file: "src/server/signaling/handlers.ts",
    find: "await ctx.rooms.leave(seat, session.received, encode(",
    replace: "await ctx.rooms.leave(seat, session.received, session.encodeReply(",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "f. relayed payload rebuilt without its id",
    file: "src/server/signaling/relay-frame.ts",
    find: "const { from: _forged, seq: _forgedSeq, ...rest } = message;",
    replace: "const { from: _forged, seq: _forgedSeq, id: _id, ...rest } = message;",
    tests: ["test/integration/pins-request-id.test.ts"],
  },
  {
    name: "g. no cap on join.token",
    file: "src/protocol/messages.ts",
    find: "token: z.string().max(MAX_TOKEN_LENGTH).optional()",
    replace: "token: z.string().optional()",
    tests: ["test/integration/pins-token-cap.test.ts"],
  },
  {
    name: "g. token cap off by one (8191)",
    file: "src/protocol/messages.ts",
    find: "MAX_TOKEN_LENGTH = 8192;",
    replace: "MAX_TOKEN_LENGTH = 8191;",
    tests: ["test/integration/pins-token-cap.test.ts"],
  },
  {
    name: "h. CLI ignores SIGTERM (default: killed, no drain)",
    file: "src/server/cli.ts",
    find: 'process.on("SIGTERM", stop);',
    replace: "",
    tests: ["test/integration/drain.test.ts"],
  },
  {
    name: "h. CLI ignores SIGINT (default: killed, no exit code 130)",
    file: "src/server/cli.ts",
    find: 'process.on("SIGINT", stop);',
    replace: "",
    tests: ["test/integration/drain.test.ts"],
  },
  {
    name: "i. ?quality=low not read from the address",
    file: "web/src/page-options.ts",
    find: 'lowQuality: params.get("quality") === "low",',
    replace: "lowQuality: false,",
    tests: ["test/unit/pins-page-options.test.ts"],
  },
  {
    name: "i. ?quality=low dropped from a room's link",
    file: "web/src/page-options.ts",
    find: 'if (opts.lowQuality) query.set("quality", "low");',
    replace: "",
    tests: ["test/unit/pins-page-options.test.ts"],
  },
  {
    name: "i. ?quality=low asks the camera for full size",
    file: "web/src/main.ts",
    find: "{ width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } }",
    replace: "{ width: { ideal: 1280 }, height: { ideal: 720 } }",
    tests: ["test/e2e/pins-quality.test.ts"],
  },
  // Issue 10's own fixes: each removal must fail the test written for it.
  {
    name: "j. message allowance not scaled by room-mates",
    file: "src/server/signaling/connection.ts",
    find: "const scale = this.#seat === null ? 1 : this.#roomMates;",
    replace: "const scale = 1;",
    tests: ["test/integration/limits-mesh.test.ts"],
  },
  {
    name: "j. a broadcast gets the room-mate share too",
    file: "src/server/signaling/connection.ts",
    find: "if (!this.#obey(this.#limiter.checkRest(1 - 1 / mates))) return;",
    replace: "",
    tests: ["test/integration/limits-mesh.test.ts"],
  },
  {
    name: "j. room-mates not counted on resume",
    file: "src/server/signaling/handlers.ts",
    find: "    count: others.length,\n    asOf: result.lastSeq,",
    replace: "    count: 0,\n    asOf: result.lastSeq,",
    tests: ["test/integration/limits-mesh.test.ts"],
  },
  {
    name: "j. room-mates who leave not counted",
    file: "src/server/signaling/connection.ts",
    find: "else if (frame.startsWith(PEER_LEFT_PREFIX) && this.#roomMates > 0) this.#roomMates--;",
    replace: "",
    tests: ["test/integration/limits-mesh.test.ts"],
  },
  {
    name: "k. the join allowance is never spent",
    file: "src/server/limits/message-limiter.ts",
    find: "    this.#joins = spent(this.#joins, 1);\n",
    replace: "",
    tests: ["test/integration/limits-joins.test.ts", "test/unit/message-limiter.test.ts"],
  },
  {
    name: "w. a takeover's new socket is not added to its member's holders",
    file: "src/server/signaling/local-seats.ts",
    find: "} else if (held !== holder) this.#byPeer.set(peerId, [held, holder]);",
    replace: "}",
    tests: ["test/unit/local-seats.test.ts", "test/integration/resume.test.ts"],
  },
  {
    name: "k. refusals counted in a row again (reset on every accept)",
    file: "src/server/limits/message-limiter.ts",
    find: '    if (byteLimit) this.#bytes = spent(this.#bytes, bytes);\n    return "accept";',
    replace:
      '    if (byteLimit) this.#bytes = spent(this.#bytes, bytes);\n    this.#refusals = null; // forgotten: a count in a row\n    return "accept";',
    tests: ["test/integration/limits-messages.test.ts", "test/unit/message-limiter.test.ts"],
  },
  {
    name: "l. no MAX_CONNECTIONS check",
    file: "src/server/signaling/gateway.ts",
    find: "if (this.#connections.size + this.#opening >= this.#opts.maxConnections) {",
    replace: "if (false) {",
    tests: ["test/integration/limits-connections.test.ts"],
  },
  {
    name: "m. /api/ice-servers not rate-limited",
    file: "src/server/app.ts",
    find: "if (!iceServersLimiter.take(address)) {",
    replace: "if (false) {",
    tests: ["test/integration/ice-servers-auth.test.ts"],
  },
  {
    name: "n. a host token does not raise an existing room's capacity",
    file: "src/server/rooms/memory.ts",
    find: "if (room && req.raiseCapacity && req.capacity > room.capacity) room.capacity = req.capacity;",
    replace: "",
    tests: ["test/integration/capacity.test.ts"],
  },
  {
    name: "o. an unexpected error in a room does not close with 1011",
    file: "src/server/signaling/connection.ts",
    find: 'if (this.#seat !== null) this.close(CLOSE_CODES.internalError, "internal error; resume");',
    replace: "",
    tests: ["test/integration/internal-errors.test.ts"],
  },
  {
    name: "p. a failing leave on close leaves a ghost",
    file: "src/server/signaling/connection.ts",
    find: '        if (seat) await this.#settleFailed(seat, "leave", error);',
    replace: "        if (seat) return;",
    tests: ["test/integration/internal-errors.test.ts"],
  },
  {
    name: "p. a failing park on drop leaves a ghost",
    file: "src/server/signaling/connection.ts",
    find: '          await this.#settleFailed(seat, "park", error);',
    replace: "",
    tests: ["test/integration/internal-errors.test.ts"],
  },
  {
    name: "q. a failed listen leaves the heartbeat running",
    file: "src/server/app.ts",
    find: "    await gateway.close(0);\n",
    replace: "",
    tests: ["test/integration/startup.test.ts"],
  },
  {
    name: "s. admin API without its token check",
    file: "src/server/http/admin.ts",
    find: "if (!sameSecret(bearerToken(req), deps.token)) {",
    replace: "if (false) {",
    tests: ["test/integration/admin-api.test.ts"],
  },
  {
    name: "s. admin API not rate-limited",
    file: "src/server/http/admin.ts",
    find: "if (!deps.limiter.take(deps.clientAddress(req))) {",
    replace: "if (false) {",
    tests: ["test/integration/admin-api.test.ts"],
  },
  {
    name: "t. webhooks unsigned",
    file: "src/server/webhooks/webhook-sender.ts",
    find: "[SIGNATURE_HEADER]: `t=",
    replace: '"X-Not-The-Signature": `t=',
    tests: ["test/integration/webhooks.test.ts"],
  },
  {
    name: "t. webhooks not retried",
    file: "src/server/webhooks/webhook-sender.ts",
    find: "      attempts: 5,",
    replace: "      attempts: 1,",
    tests: ["test/integration/webhooks.test.ts"],
  },
  {
    name: "u. call-report: a second report per pair accepted (memory)",
    file: "src/server/rooms/memory.ts",
    find: "if (member.reported.has(peerId)) return DUPLICATE;",
    replace: "",
    tests: ["test/integration/call-report.test.ts"],
  },
  {
    name: "u. call-report: reports about anyone accepted (memory)",
    file: "src/server/rooms/memory.ts",
    find: "if (peerId === seat.peerId || !room.members.has(peerId)) return UNKNOWN_PEER;",
    replace: "",
    tests: ["test/integration/call-report.test.ts"],
  },
  {
    name: "u. call-report: once per pair forgotten at a resume (Redis)",
    file: "src/server/cluster/lua.ts",
    find: "if redis.call('HSETNX', m, 'cr:' .. target, 1) == 0 then return {'duplicate'} end",
    replace: "",
    tests: ["test/integration/rooms-conformance.test.ts"],
  },
  {
    name: "u. call-report: oversized reports read",
    file: "src/server/signaling/handlers.ts",
    find: "if (Buffer.byteLength(text) > MAX_CALL_REPORT_BYTES) {",
    replace: "if (false) {",
    tests: ["test/integration/call-report.test.ts"],
  },
  {
    name: "u. call-report: relay protocol never counted",
    file: "src/server/observability/metrics.ts",
    find: 'relay_protocol: report.local === "relay" ? (report.relayProtocol ?? "unknown") : "none",',
    replace: 'relay_protocol: "none",',
    tests: ["test/integration/call-report.test.ts"],
  },
  {
    name: "u. call-report: SDK never names TURN 401 as the reason",
    file: "src/client/setup-watch.ts",
    find: 'if (this.#turnUnauthorized) return "turn-unauthorized";',
    replace: "",
    tests: ["test/e2e/call-report.test.ts"],
  },
  {
    name: "v. HS256 fast path: any signature accepted",
    file: "src/server/auth/join-tokens.ts",
    find: "if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;",
    replace: "",
    tests: ["test/unit/hs256-fast-path.test.ts"],
  },
  {
    name: "v. HS256 fast path: claims not checked",
    file: "src/server/auth/join-tokens.ts",
    find: "return UnsecuredJWT.decode(",
    replace: 'return JSON.parse(Buffer.from(body, "base64url").toString()) ?? UnsecuredJWT.decode(',
    tests: ["test/unit/hs256-fast-path.test.ts"],
  },
  {
    name: "v. HS256 fast path: never taken",
    file: "src/server/auth/join-tokens.ts",
    find: "if (opts.fastHs256 !== false) hs256 = hs256Verifier(config.authSecret);",
    replace: "",
    tests: ["test/unit/hs256-fast-path.test.ts"],
  },
  {
    name: "r. MAX_MESSAGE_BYTES above MAX_BUFFERED_BYTES accepted",
    file: "src/server/config.ts",
    find: "if (c.maxMessageBytes > c.maxBufferedBytes) {",
    replace: "if (false) {",
    tests: ["test/unit/config.test.ts"],
  },
  {
    name: "w. replay slab freed while frames of its window are still in it",
    file: "src/server/rooms/replay-window.ts",
    find: "if (entry !== this.#slab && entries[head + 3] !== entry) freeSlab(entry);",
    replace: "if (entry !== this.#slab) freeSlab(entry);",
    tests: ["test/unit/replay-window.test.ts"],
  },
  {
    name: "w. replay slab freed twice (still the newest when its last frame goes)",
    file: "src/server/rooms/replay-window.ts",
    find: "if (entry !== this.#slab && entries[head + 3] !== entry) freeSlab(entry);",
    replace: "if (entries[head + 3] !== entry) freeSlab(entry);",
    tests: ["test/unit/replay-window.test.ts"],
  },
];

const ROOT = join(import.meta.dirname, "..");
const COPIED = ["src", "test", "web", "scripts", "package.json", "biome.json"];
/** Generous for one mutant's test files; a hang counts as a failure (killed), and says so. */
const TIMEOUT_MS = 120_000;
/** Mutants run side by side (the machine has 2 cores; timing-sensitive tests need room). */
const PARALLEL = 2;

type Outcome = "killed" | "killed (timeout)" | "SURVIVED" | "STALE" | "ERROR";

interface Row {
  readonly name: string;
  outcome: Outcome;
  seconds: number;
  detail: string;
}

/** Needs the web app built (`dist/web`)? The browser tests serve it. */
const needsWebBuild = (tests: readonly string[]) => tests.some((t) => t.startsWith("test/e2e/"));

function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) count++;
  return count;
}

/** A fresh copy of what the tests need; node_modules is shared through a symlink. */
function copyRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "signalroom-mutant-"));
  for (const entry of COPIED) {
    if (existsSync(join(ROOT, entry)))
      cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  for (const entry of readdirSync(ROOT)) {
    if (/^tsconfig.*\.json$/.test(entry)) cpSync(join(ROOT, entry), join(dir, entry));
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

interface Run {
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly output: string;
}

/** Runs a command in its own process group; on timeout the whole group is killed. */
function run(
  cwd: string,
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_ENV: "test" },
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      // Anything the tests left behind in the group (a server process) goes too.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Nothing left.
        }
      }
      resolve({ ok: code === 0 && !timedOut, timedOut, output });
    });
  });
}

async function buildWeb(dir: string): Promise<Run> {
  return run(
    dir,
    join(dir, "node_modules", ".bin", "vite"),
    ["build", "--config", "web/vite.config.ts", "--logLevel", "error"],
    TIMEOUT_MS,
  );
}

/** The test files, with node:test; browser tests inside the loopback-only namespace. */
function runTests(dir: string, tests: readonly string[]): Promise<Run> {
  const node = [process.execPath, "--import", "tsx", "--test", ...tests];
  return needsWebBuild(tests)
    ? run(dir, "sh", ["scripts/netns.sh", ...node], TIMEOUT_MS)
    : run(dir, node[0] as string, node.slice(1), TIMEOUT_MS);
}

/** The first failing test's lines, for a report that says why. */
function failureSummary(output: string): string {
  const lines = output.split("\n");
  const at = lines.findIndex((line) => /^\s*not ok /.test(line));
  const picked = at >= 0 ? lines.slice(at, at + 8) : lines.slice(-12);
  return picked.join("\n");
}

async function runMutant(mutant: Mutant): Promise<Row> {
  const started = performance.now();
  const row: Row = { name: mutant.name, outcome: "ERROR", seconds: 0, detail: "" };
  const dir = copyRepo();
  try {
    const path = join(dir, mutant.file);
    const text = readFileSync(path, "utf8");
    // Checked again in the copy: the working tree may have changed since.
    const count = occurrences(text, mutant.find);
    if (count !== 1) {
      row.outcome = "STALE";
      row.detail = `${JSON.stringify(mutant.find)} occurs ${count} times in ${mutant.file} (must be exactly once)`;
      return row;
    }
    writeFileSync(
      path,
      text.replace(mutant.find, () => mutant.replace),
    );
    if (needsWebBuild(mutant.tests)) {
      const build = await buildWeb(dir);
      if (!build.ok) {
        row.detail = `build failed:\n${build.output.slice(-2000)}`;
        return row;
      }
    }
    const result = await runTests(dir, mutant.tests);
    row.outcome = result.ok ? "SURVIVED" : result.timedOut ? "killed (timeout)" : "killed";
    row.detail = result.ok ? "" : failureSummary(result.output);
    return row;
  } finally {
    row.seconds = (performance.now() - started) / 1000;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `tasks` with at most `limit` at a time, results in order. */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function table(rows: readonly Row[]): string {
  const width = Math.max(6, ...rows.map((r) => r.name.length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(width)}  ${b.padEnd(16)}  ${c}`;
  return [
    line("mutant", "result", "seconds"),
    line("-".repeat(width), "-".repeat(16), "-------"),
    ...rows.map((r) => line(r.name, r.outcome, r.seconds.toFixed(1).padStart(7))),
  ].join("\n");
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // `npm test` runs the whole suite on this very tree just before: the
  // baseline would run the same files a second time.
  const skipBaseline = args.includes("--no-baseline");
  const words = args.filter((a) => a !== "--no-baseline").map((w) => w.toLowerCase());
  const chosen = MUTANTS.filter(
    (m) => words.length === 0 || words.some((w) => m.name.toLowerCase().includes(w)),
  );
  if (chosen.length === 0) {
    console.error(`no mutant matches ${words.join(", ")}`);
    return 1;
  }
  const started = performance.now();

  // Stale find strings, against the working tree as it is now.
  const stale: Row[] = [];
  const live: Mutant[] = [];
  for (const mutant of chosen) {
    const path = join(ROOT, mutant.file);
    const count = existsSync(path) ? occurrences(readFileSync(path, "utf8"), mutant.find) : -1;
    if (count === 1) live.push(mutant);
    else {
      stale.push({
        name: mutant.name,
        outcome: "STALE",
        seconds: 0,
        detail:
          count < 0
            ? `${mutant.file} does not exist`
            : `${JSON.stringify(mutant.find)} occurs ${count} times in ${mutant.file} (must be exactly once)`,
      });
    }
  }

  // Baseline: the pinning tests pass on the unmutated code.
  const testFiles = [...new Set(live.flatMap((m) => m.tests))];
  const baselineStarted = performance.now();
  const baseDir = skipBaseline ? null : copyRepo();
  let baseline: Run = { ok: true, timedOut: false, output: "" };
  try {
    if (baseDir !== null) {
      const build = needsWebBuild(testFiles) ? await buildWeb(baseDir) : null;
      if (build && !build.ok) baseline = build;
      else {
        const node = testFiles.filter((t) => !needsWebBuild([t]));
        const browser = testFiles.filter((t) => needsWebBuild([t]));
        const [a, b] = await Promise.all([
          node.length > 0 ? runTests(baseDir, node) : null,
          browser.length > 0 ? runTests(baseDir, browser) : null,
        ]);
        baseline = {
          ok: (a?.ok ?? true) && (b?.ok ?? true),
          timedOut: (a?.timedOut ?? false) || (b?.timedOut ?? false),
          output: `${a?.output ?? ""}\n${b?.output ?? ""}`,
        };
      }
    }
  } finally {
    if (baseDir !== null) rmSync(baseDir, { recursive: true, force: true });
  }
  const baselineSeconds = (performance.now() - baselineStarted) / 1000;
  console.log(
    baseDir === null
      ? "baseline skipped (--no-baseline: the suite just passed on this tree)"
      : `baseline (${testFiles.length} test files, unmutated): ${baseline.ok ? "pass" : "FAIL"} in ${baselineSeconds.toFixed(1)} s`,
  );
  if (!baseline.ok) {
    console.log(failureSummary(baseline.output));
    console.log("the pinning tests fail without any mutant: fix them first");
    return 1;
  }

  const rows = [...(await pool(live, PARALLEL, runMutant)), ...stale];
  console.log("");
  console.log(table(rows));
  const total = (performance.now() - started) / 1000;
  const bad = rows.filter(
    (r) => r.outcome === "SURVIVED" || r.outcome === "STALE" || r.outcome === "ERROR",
  );
  for (const row of rows) {
    if (row.outcome === "STALE" || row.outcome === "ERROR")
      console.log(`\n${row.name}: ${row.detail}`);
  }
  if (process.env.MUTANTS_VERBOSE) {
    for (const row of rows)
      if (row.outcome.startsWith("killed")) console.log(`\n${row.name}:\n${row.detail}`);
  }
  const killed = rows.filter((r) => r.outcome.startsWith("killed")).length;
  console.log(
    `\n${killed}/${rows.length} mutants killed, ${bad.length} not; ${total.toFixed(1)} s in all (baseline ${baselineSeconds.toFixed(1)} s)`,
  );
  return bad.length === 0 ? 0 : 1;
}

process.exitCode = await main();
