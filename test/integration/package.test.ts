import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeJwt, jwtVerify } from "jose";
import { freePort } from "../helpers/free-port.js";
import { eventually, within } from "../helpers/wait.js";

/**
 * The package as a user gets it: `npm pack` of the built `dist/`, installed
 * into an empty folder (`npm install <tarball>`, dependencies from the local
 * npm cache where it has them), then `npx signalroom --help`, `npx
 * signalroom token ...`, and the server started from the installed package
 * serving `/healthz` and the web app. Needs `npm run build` first; packs
 * with --ignore-scripts so the shared dist/ is not rebuilt under other tests.
 *
 * Then the package as a git dependency gets it: a clone of the committed
 * HEAD (no dist/: it is git-ignored) installed with `npm install
 * git+file://<clone>`, which installs the clone's devDependencies and runs
 * its `prepare` (the build) in a copy of its own, never in this checkout.
 */

const ROOT = join(import.meta.dirname, "..", "..");
/** npm pack and npm install each (cache-warm, both are a few seconds). */
const NPM_TIMEOUT_MS = 45_000;
/**
 * npm install from git: the clone's devDependencies, the build, then the
 * package's own dependencies (cache-warm, 20-30 s on 2 cores).
 */
const GIT_INSTALL_TIMEOUT_MS = 180_000;
/** One `npx signalroom ...` that exits by itself. */
const RUN_TIMEOUT_MS = 15_000;
/** From spawn to /healthz answering. */
const START_TIMEOUT_MS = 15_000;
const SECRET = "package-test-secret-0123456789abcdef";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Children still running; each is killed by its pid at the end. */
const children = new Set<ChildProcess>();

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

/** Runs `command args` in `cwd` and waits (bounded) for it to exit. */
async function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<Run> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const out = collect(child);
  try {
    const [code] = (await within(
      Promise.race([
        once(child, "close"),
        once(child, "error").then(([error]) => Promise.reject(error)),
      ]),
      timeoutMs,
      `${command} ${args.join(" ")} to exit (stdout: ${out.stdout()}, stderr: ${out.stderr()})`,
    )) as [number | null];
    return { code, stdout: out.stdout(), stderr: out.stderr() };
  } finally {
    stop(child);
  }
}

/** Kills `child` by its pid if it still runs. */
function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, signal);
    } catch {
      // Gone between the check and the kill.
    }
  }
  if (signal === "SIGKILL") children.delete(child);
}

/**
 * Starts the server installed in `folder` (its `node_modules/.bin/signalroom`,
 * on a free port of 127.0.0.1), checks `/healthz`, `/` and a script of the
 * web app, then stops it with SIGTERM and expects a clean exit.
 */
async function servesFromPackage(folder: string, installed: string): Promise<void> {
  const port = await freePort();
  // The bin itself, not through npx: the pid is the server's, and the shebang is what runs it.
  const server = spawn(join(folder, "node_modules", ".bin", "signalroom"), [], {
    cwd: folder,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(server);
  const out = collect(server);
  try {
    const base = `http://127.0.0.1:${port}`;
    await eventually(
      async () => {
        assert.equal(server.exitCode, null, `the server exited: ${out.stderr()}`);
        const res = await fetch(`${base}/healthz`);
        assert.equal(res.status, 200, "/healthz is not 200 yet");
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 100, what: "the installed server's /healthz" },
    );
    const health = await fetch(`${base}/healthz`);
    assert.match(health.headers.get("content-type") ?? "", /application\/json/);
    assert.equal(typeof ((await health.json()) as { connections?: unknown }).connections, "number");

    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    const html = await page.text();
    assert.equal(html, readFileSync(join(installed, "dist", "web", "index.html"), "utf8"));
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, "index.html loads no script from /assets/");
    const asset = await fetch(`${base}${script}`);
    assert.equal(asset.status, 200, `${script} is not served`);
    await asset.arrayBuffer();
    assert.match(out.stdout(), /Signalroom listening on http:\/\/127\.0\.0\.1:/);

    stop(server, "SIGTERM");
    const [code] = (await within(
      once(server, "close"),
      20_000,
      "the server to drain and exit",
    )) as [number | null];
    assert.equal(code, 0, out.stderr());
  } finally {
    stop(server);
  }
}

describe("the package, packed and installed into an empty folder", { timeout: 120_000 }, () => {
  let folder: string;
  let installed: string;
  let packedFiles: string[];

  before(async () => {
    for (const built of ["dist/server/cli.js", "dist/web/index.html"]) {
      if (!existsSync(join(ROOT, built))) {
        throw new Error(`${built} is missing: run npm run build first`);
      }
    }
    folder = mkdtempSync(join(tmpdir(), "signalroom-package-"));
    const pack = await run(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--pack-destination", folder],
      ROOT,
      NPM_TIMEOUT_MS,
    );
    assert.equal(pack.code, 0, `npm pack failed: ${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout) as {
      filename: string;
      files: { path: string }[];
    }[];
    assert.ok(packed, `npm pack printed no package: ${pack.stdout}`);
    packedFiles = packed.files.map((file) => file.path);
    writeFileSync(
      join(folder, "package.json"),
      JSON.stringify({ name: "signalroom-package-test", private: true }),
    );
    const install = await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${packed.filename}`],
      folder,
      NPM_TIMEOUT_MS,
    );
    assert.equal(install.code, 0, `npm install of the tarball failed: ${install.stderr}`);
    installed = join(folder, "node_modules", "signalroom");
  });

  after(() => {
    for (const child of children) stop(child);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("holds the built package and nothing else", () => {
    const unexpected = packedFiles.filter(
      (path) => !(path.startsWith("dist/") || ["package.json", "README.md"].includes(path)),
    );
    assert.deepEqual(unexpected, [], "only dist/, package.json and README.md");
    for (const path of packedFiles) {
      assert.ok(!path.endsWith(".map"), `a source map whose sources are not shipped: ${path}`);
      assert.ok(!/(^|\/)(test|tests|bench|test-results)\//.test(path), `not for users: ${path}`);
    }
    for (const needed of [
      "dist/server/cli.js",
      "dist/server/index.js",
      "dist/server/index.d.ts",
      "dist/client/index.js",
      "dist/protocol/index.js",
      "dist/web/index.html",
    ]) {
      assert.ok(packedFiles.includes(needed), `${needed} is not in the tarball`);
    }
  });

  it("installs cli.js as an executable with a shebang", () => {
    const cli = join(installed, "dist", "server", "cli.js");
    assert.equal(readFileSync(cli, "utf8").split("\n")[0], "#!/usr/bin/env node");
    assert.ok((statSync(cli).mode & 0o111) !== 0, "dist/server/cli.js is not executable");
  });

  it("npx signalroom --help lists the commands and options", async () => {
    const help = await run("npx", ["--no-install", "signalroom", "--help"], folder, RUN_TIMEOUT_MS);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: signalroom \[options\]\n/);
    assert.match(help.stdout, /signalroom token --room ROOM --sub USER/);
    assert.match(help.stdout, /signalroom check-config \[options\]/);
    assert.match(help.stdout, /signalroom config \[options\]/);
    assert.match(help.stdout, /\n {2}--port +PORT +/);
  });

  it("npx signalroom token mints a token the secret verifies", async () => {
    const token = await run(
      "npx",
      ["--no-install", "signalroom", "token", "--room", "r", "--sub", "u", "--secret", SECRET],
      folder,
      RUN_TIMEOUT_MS,
    );
    assert.equal(token.code, 0, token.stderr);
    const jwt = token.stdout.trim();
    assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/, `not a JWT: ${token.stdout}`);
    const { payload } = await jwtVerify(jwt, new TextEncoder().encode(SECRET));
    assert.equal(payload.sub, "u");
    assert.equal(decodeJwt(jwt).room, "r");
  });

  it("npx signalroom check-config finds the bundled app", async () => {
    const check = await run(
      "npx",
      ["--no-install", "signalroom", "check-config"],
      folder,
      RUN_TIMEOUT_MS,
      { AUTH_SECRET: SECRET },
    );
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, "signalroom: configuration OK\n");
  });

  it("starts, and serves /healthz and the web app from the package", async () => {
    await servesFromPackage(folder, installed);
  });
});

describe("the package, installed from a git URL into an empty folder", {
  timeout: GIT_INSTALL_TIMEOUT_MS + 60_000,
  skip: existsSync(join(ROOT, ".git")) ? false : "not a git checkout",
}, () => {
  /** The temporary folder: the clone and the app beside it. */
  let scratch: string;
  let clone: string;
  let folder: string;
  let installed: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), "signalroom-git-"));
    // The committed tree only (HEAD), as a user's git URL serves it.
    clone = join(scratch, "signalroom.git");
    const cloned = await run(
      "git",
      ["clone", "--quiet", "--no-local", ROOT, clone],
      scratch,
      NPM_TIMEOUT_MS,
    );
    assert.equal(cloned.code, 0, `git clone failed: ${cloned.stderr}`);
    assert.ok(!existsSync(join(clone, "dist")), "dist/ is committed; it must be built instead");
    folder = join(scratch, "app");
    mkdirSync(folder);
    writeFileSync(
      join(folder, "package.json"),
      JSON.stringify({ name: "signalroom-git-test", private: true }),
    );
    const install = await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", `git+file://${clone}`],
      folder,
      GIT_INSTALL_TIMEOUT_MS,
    );
    assert.equal(install.code, 0, `npm install from git failed: ${install.stderr}`);
    installed = join(folder, "node_modules", "signalroom");
  });

  after(() => {
    for (const child of children) stop(child);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("installs the built package, not the sources, and leaves the clone unbuilt", () => {
    for (const built of [
      "dist/server/cli.js",
      "dist/server/index.d.ts",
      "dist/client/index.js",
      "dist/web/index.html",
    ]) {
      assert.ok(existsSync(join(installed, built)), `${built} was not built`);
    }
    for (const absent of ["src", "test", "bench", "web", "tsconfig.json"]) {
      assert.ok(!existsSync(join(installed, absent)), `${absent} is not for users`);
    }
    assert.ok(
      !existsSync(join(installed, "dist", "server", "cli.js.map")),
      "source maps are left out, as in the tarball",
    );
    // npm builds in a copy of its own; the clone it was pointed at is untouched.
    assert.ok(!existsSync(join(clone, "dist")), "the build ran in the cloned repository");
  });

  it("npx signalroom --help runs from the git install", async () => {
    const help = await run("npx", ["--no-install", "signalroom", "--help"], folder, RUN_TIMEOUT_MS);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: signalroom \[options\]\n/);
  });

  it("starts, and serves /healthz and the web app from the git install", async () => {
    await servesFromPackage(folder, installed);
  });
});
