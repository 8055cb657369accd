import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { createTokenVerifier } from "../../src/server/auth/join-tokens.js";
import { ConfigError, loadConfig } from "../../src/server/config.js";
import { tokenCommand } from "../../src/server/token-command.js";
import { HS_SECRET, keyPair, nowSeconds, secretKey, TempDir } from "../helpers/tokens.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Runs `signalroom` from source; resolves with its exit code and output. Killed (by pid) after 20 s. */
function runCli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/server/cli.ts", ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }, 20_000);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const BASE = ["--room", "r1", "--sub", "alice", "--secret", HS_SECRET];

/** Expects `tokenCommand(argv, env)` to fail with a ConfigError whose message is `message`. */
async function refuses(argv: string[], message: string | RegExp, env = {}): Promise<void> {
  await assert.rejects(tokenCommand(argv, env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

describe("signalroom token (tokenCommand)", () => {
  const dir = new TempDir();
  after(() => dir.remove());

  it("mints an HS256 JWT whose claims match the flags", async () => {
    const token = await tokenCommand(
      [...BASE, "--role", "host", "--name", "Alice", "--max-peers", "6", "--ttl", "30m"],
      {},
    );
    assert.match(token, JWT);
    const { payload, protectedHeader } = await jwtVerify(token, secretKey(HS_SECRET));
    assert.equal(protectedHeader.alg, "HS256");
    assert.ok(Math.abs(Number(payload.exp) - (nowSeconds() + 1800)) <= 5);
    assert.deepEqual(payload, {
      room: "r1",
      sub: "alice",
      role: "host",
      name: "Alice",
      maxPeers: 6,
      iat: payload.iat,
      exp: payload.exp,
    });
  });

  it("reads the ttl as 90s, 30m, 1h or plain seconds; 1h by default", async () => {
    const cases: [string[], number][] = [
      [["--ttl", "90s"], 90],
      [["--ttl", "30m"], 1800],
      [["--ttl", "1h"], 3600],
      [["--ttl", "2d"], 2 * 86_400],
      [["--ttl", "45"], 45],
      [[], 3600],
    ];
    for (const [flags, seconds] of cases) {
      const exp = Number(decodeJwt(await tokenCommand([...BASE, ...flags], {})).exp);
      assert.ok(Math.abs(exp - (nowSeconds() + seconds)) <= 5, `${flags.join(" ")}: ${exp}`);
    }
  });

  it("takes the secret, issuer and audience from the environment", async () => {
    const token = await tokenCommand(["--room", "*", "--sub", "svc"], {
      AUTH_SECRET: HS_SECRET,
      AUTH_ISSUER: "https://idp.example",
      AUTH_AUDIENCE: "signalroom",
    });
    const { payload } = await jwtVerify(token, secretKey(HS_SECRET), {
      issuer: "https://idp.example",
      audience: "signalroom",
    });
    assert.equal(payload.room, "*");
    // Flags win over the environment.
    const flagged = await tokenCommand([...BASE, "--issuer", "flag-iss"], {
      AUTH_ISSUER: "env-iss",
    });
    assert.equal(decodeJwt(flagged).iss, "flag-iss");
  });

  it("refuses missing or bad arguments with a ConfigError naming the flag", async () => {
    await refuses(["--sub", "alice", "--secret", HS_SECRET], "--room: required");
    await refuses(["--room", "  ", "--sub", "alice", "--secret", HS_SECRET], "--room: required");
    await refuses(["--room", "r1", "--secret", HS_SECRET], "--sub: required");
    await refuses([...BASE, "--role", "admin"], "--role: must be one of host, guest");
    for (const ttl of ["forever", "-5", "1.5h", "", "1y", "h"]) {
      await refuses([...BASE, `--ttl=${ttl}`], "--ttl: must look like 90s, 30m, 1h or 7d");
    }
    for (const maxPeers of ["1", "1025", "3.5", "0x10", "1e1", "", "many"]) {
      await refuses(
        [...BASE, `--max-peers=${maxPeers}`],
        "--max-peers: must be a whole number from 2 to 1024",
      );
    }
    await refuses([...BASE, "--bogus", "x"], /--bogus/);
  });

  it("refuses a missing or short secret", async () => {
    const missing = "--secret: required (or set AUTH_SECRET, or give --private-key)";
    await refuses(["--room", "r1", "--sub", "alice"], missing);
    await refuses(["--room", "r1", "--sub", "alice"], missing, { AUTH_SECRET: "" });
    const short = "--secret / AUTH_SECRET: must be at least 32 characters";
    await refuses(["--room", "r1", "--sub", "alice", "--secret", "x".repeat(31)], short);
    await refuses(["--room", "r1", "--sub", "alice"], short, { AUTH_SECRET: "too-short" });
  });

  it("signs RS256 and ES256 with --private-key; the matching verifier accepts them", async () => {
    for (const [type, alg] of [
      ["rsa", "RS256"],
      ["ec", "ES256"],
    ] as const) {
      const keys = keyPair(type);
      const privateFile = dir.write(`${type}.key`, keys.privatePem);
      const token = await tokenCommand(
        ["--room", "r9", "--sub", `${type}-user`, "--private-key", privateFile, "--role", "host"],
        {},
      );
      assert.equal(decodeProtectedHeader(token).alg, alg);
      const verifier = createTokenVerifier(
        loadConfig({ overrides: { authPublicKey: dir.write(`${type}.pub`, keys.publicPem) } }),
      );
      assert.deepEqual(await verifier?.verify(token), {
        ok: true,
        identity: {
          sub: `${type}-user`,
          name: undefined,
          role: "host",
          room: "r9",
          maxPeers: undefined,
        },
      });
      // The secret-keyed verifier must not accept it.
      const hs = createTokenVerifier(loadConfig({ overrides: { authSecret: HS_SECRET } }));
      assert.equal((await hs?.verify(token))?.ok, false);
    }
  });

  it("refuses a --private-key it cannot use with a ConfigError", async () => {
    const missing = `${dir.path}/missing.pem`;
    await refuses(
      ["--room", "r", "--sub", "u", "--private-key", missing],
      new RegExp(`^--private-key: cannot read ${missing} \\(ENOENT`),
    );
    const garbage = dir.write("garbage.pem", "not a key\n");
    await refuses(
      ["--room", "r", "--sub", "u", "--private-key", garbage],
      `--private-key: ${garbage} holds no PEM private key`,
    );
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    const file = dir.write("p384.pem", p384.export({ type: "pkcs8", format: "pem" }).toString());
    await refuses(
      ["--room", "r", "--sub", "u", "--private-key", file],
      "--private-key: must be an RSA key of 2048 bits or more (RS256) or an EC P-256 key (ES256)",
    );
  });
});

describe("signalroom token (the real CLI)", () => {
  // Both runs at once: each is a Node start-up with tsx.
  let ok: Awaited<ReturnType<typeof runCli>>;
  let noSub: Awaited<ReturnType<typeof runCli>>;
  before(async () => {
    [ok, noSub] = await Promise.all([
      runCli(["token", "--room", "r", "--sub", "u", "--secret", HS_SECRET]),
      runCli(["token", "--room", "r", "--secret", HS_SECRET]),
    ]);
  });

  it("prints one JWT line and exits 0", async () => {
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, "");
    assert.match(ok.stdout, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const { payload } = await jwtVerify(ok.stdout.trim(), secretKey(HS_SECRET));
    assert.equal(payload.room, "r");
    assert.equal(payload.sub, "u");
  });

  it("exits 2 without --sub, naming --sub on stderr", () => {
    assert.equal(noSub.code, 2);
    assert.equal(noSub.stdout, "");
    // The problem and where to read more, not the whole usage.
    assert.equal(
      noSub.stderr,
      "signalroom: --sub: required\n(signalroom token --help lists every option)\n",
    );
  });
});
