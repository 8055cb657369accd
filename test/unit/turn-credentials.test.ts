import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { iceServersFor, mintTurnCredential } from "../../src/server/auth/turn-credentials.js";
import { type Config, loadConfig } from "../../src/server/config.js";

const OPENSSL = "/usr/bin/openssl";
const SECRET = "coturn-shared-secret-0123456789";
/** 2023-11-14T22:13:20.999Z: the milliseconds must be dropped, not rounded. */
const NOW_MS = 1_700_000_000_999;

/**
 * base64(HMAC-SHA1) computed by openssl in a child process: an
 * implementation independent of node:crypto.
 */
function opensslHmac(secret: string, message: string): Promise<string> {
  if (!existsSync(OPENSSL)) {
    assert.fail(`${OPENSSL} is missing: apt-get install -y openssl`);
  }
  return new Promise<string>((resolve, reject) => {
    const child = spawn(OPENSSL, ["dgst", "-sha1", "-hmac", secret, "-binary"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }, 10_000);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`openssl exited ${code}: ${Buffer.concat(err)}`));
      else resolve(Buffer.concat(out).toString("base64"));
    });
    child.stdin.end(message);
  });
}

const config = (overrides: Partial<Config>): Config =>
  loadConfig({ overrides: { webRoot: "", ...overrides } });

describe("mintTurnCredential", () => {
  it("builds <unix expiry>:<user> and base64(HMAC-SHA1(secret, username))", () => {
    const minted = mintTurnCredential(SECRET, "alice", 3600, NOW_MS);
    assert.equal(minted.username, "1700003600:alice");
    assert.equal(minted.expiresAt, 1_700_003_600);
    const expected = createHmac("sha1", SECRET).update(minted.username).digest("base64");
    assert.equal(minted.credential, expected);
  });

  it("matches a fixed vector computed once with openssl", () => {
    // printf %s '1700003600:alice' | openssl dgst -sha1 -hmac 'coturn-shared-secret-0123456789' -binary | base64
    assert.equal(
      mintTurnCredential(SECRET, "alice", 3600, NOW_MS).credential,
      "9w769lnVLlo7OAHRSTNQQVU0Oz0=",
    );
    // printf %s '1700086400:user@example.org' | openssl dgst -sha1 -hmac 'north' -binary | base64
    assert.deepEqual(mintTurnCredential("north", "user@example.org", 86_400, 1_700_000_000_000), {
      username: "1700086400:user@example.org",
      credential: "K/45BmkaZ8+ecL0qRfpKRVsDQKE=",
      expiresAt: 1_700_086_400,
    });
  });

  it("agrees with openssl run now, for users with spaces, colons and non-ASCII", async () => {
    for (const user of ["bob", "user with spaces", "tenant:42:carol", "zoë 🎥"]) {
      const minted = mintTurnCredential(SECRET, user, 120, NOW_MS);
      assert.equal(minted.credential, await opensslHmac(SECRET, minted.username), user);
    }
  });

  it("uses the current time by default", () => {
    const before = Math.floor(Date.now() / 1000);
    const minted = mintTurnCredential(SECRET, "now", 60);
    const after = Math.floor(Date.now() / 1000);
    assert.ok(minted.expiresAt >= before + 60 && minted.expiresAt <= after + 60);
    assert.equal(minted.username, `${minted.expiresAt}:now`);
  });
});

describe("iceServersFor", () => {
  const STUN = ["stun:stun.example.org:3478", "stun:stun2.example.org"];
  const TURN = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"];

  it("gives the STUN entry and a TURN entry minted with the first secret", () => {
    const servers = iceServersFor(
      config({
        stunUrls: STUN,
        turnUrls: TURN,
        turnSecrets: ["new-secret-0123456789", "old-secret-0123456789"],
        turnTtlSeconds: 600,
      }),
      "alice",
      NOW_MS,
    );
    const username = "1700000600:alice";
    assert.deepEqual(servers, [
      { urls: STUN },
      {
        urls: TURN,
        username,
        credential: createHmac("sha1", "new-secret-0123456789").update(username).digest("base64"),
      },
    ]);
    // The old secret is only for coturn to accept credentials minted before the rotation.
    const old = createHmac("sha1", "old-secret-0123456789").update(username).digest("base64");
    assert.notEqual(servers[1]?.credential, old);
  });

  it("gives TURN alone when no STUN is configured", () => {
    const servers = iceServersFor(config({ turnUrls: TURN, turnSecrets: [SECRET] }), "bob", NOW_MS);
    assert.equal(servers.length, 1);
    assert.equal(servers[0]?.username, "1700003600:bob");
  });

  it("gives STUN alone, without credentials, when TURN is not configured", () => {
    assert.deepEqual(iceServersFor(config({ stunUrls: STUN }), "alice", NOW_MS), [{ urls: STUN }]);
  });

  it("gives nothing when nothing is configured", () => {
    assert.deepEqual(iceServersFor(config({}), "alice", NOW_MS), []);
  });
});
