import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { mintJoinToken } from "../../src/server/auth/mint-token.js";
import type { Config } from "../../src/server/config.js";
import { manualClock } from "../helpers/clock.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  HS_SECRET,
  keyPair,
  nowSeconds,
  secretKey,
  signWith,
  startJwksServer,
  validClaims,
} from "../helpers/tokens.js";

const STUN = ["stun:stun.example.org:3478"];
const TURN = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"];
const FIRST_SECRET = "first-turn-secret-0123456789";
const SECOND_SECRET = "second-turn-secret-0123456789";
const TTL = 600;
const TURN_CONFIG: Partial<Config> = {
  stunUrls: STUN,
  turnUrls: TURN,
  turnSecrets: [FIRST_SECRET, SECOND_SECRET],
  turnTtlSeconds: TTL,
};

interface IceServerJson {
  readonly urls: string | string[];
  readonly username?: string;
  readonly credential?: string;
}

/**
 * Checks `servers` is [STUN, TURN] and that the TURN credential is
 * coturn's: `<expiry>:<user>`, HMAC-SHA1 under the first secret, expiring
 * TTL seconds from now.
 */
function assertTurnFor(servers: readonly IceServerJson[], user: string, ttl = TTL): void {
  assert.equal(servers.length, 2);
  assert.deepEqual(servers[0], { urls: STUN });
  const turn = servers[1] as IceServerJson;
  assert.deepEqual(turn.urls, TURN);
  const username = String(turn.username);
  const separator = username.indexOf(":");
  assert.equal(username.slice(separator + 1), user);
  const expiry = Number(username.slice(0, separator));
  assert.ok(Math.abs(expiry - (nowSeconds() + ttl)) <= 5, `expiry ${expiry} is now + ${ttl}`);
  const hmac = (secret: string) => createHmac("sha1", secret).update(username).digest("base64");
  assert.equal(turn.credential, hmac(FIRST_SECRET));
  assert.notEqual(turn.credential, hmac(SECOND_SECRET));
}

/** The headers every HTTP response carries. */
function assertSecurityHeaders(res: Response): void {
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /(^|; )script-src 'self'(;|$)/);
  assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
}

describe("TURN credentials in joined", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("mints them for the token's sub when auth is on", async () => {
    server = await startTestServer({ ...TURN_CONFIG, authSecret: HS_SECRET });
    const a = await server.connect();
    const token = await mintJoinToken({ secret: HS_SECRET }, { room: "t", sub: "alice" });
    const joined = await a.join("t", { token });
    assertTurnFor(joined.iceServers as IceServerJson[], "alice");
  });

  it("mints them for the peer id when auth is off, valid for at most 300 s", async () => {
    server = await startTestServer(TURN_CONFIG);
    const a = await server.connect();
    const joined = await a.join("t");
    // Anyone may join without auth: a scraped credential stops working soon
    // (coturn checks expiry only when an allocation starts; a call outlives it).
    assertTurnFor(joined.iceServers as IceServerJson[], String(joined.peerId), 300);
  });
});

describe("GET /api/ice-servers", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${(server as TestServer).httpUrl}${path}`, { headers });

  it("without auth answers every caller with short-lived credentials (at most 300 s)", async () => {
    server = await startTestServer(TURN_CONFIG);
    const res = await get("/api/ice-servers");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assertSecurityHeaders(res);
    const body = (await res.json()) as { iceServers: IceServerJson[]; ttl: number };
    assert.deepEqual(Object.keys(body).sort(), ["iceServers", "ttl"]);
    // Anyone may ask: what they get stops being useful soon (TURN_TTL is 600 here).
    assert.equal(body.ttl, 300);
    const username = String(body.iceServers[1]?.username);
    assert.match(username, /^\d+:anon-[0-9a-f]{12}$/);
    assertTurnFor(body.iceServers, username.slice(username.indexOf(":") + 1), 300);
    // A shorter TURN_TTL is kept as it is.
    await server.close();
    server = await startTestServer({ ...TURN_CONFIG, turnTtlSeconds: 120 });
    assert.equal(((await (await get("/api/ice-servers")).json()) as { ttl: number }).ttl, 120);
  });

  it("without TURN answers the STUN servers and no ttl", async () => {
    server = await startTestServer({ stunUrls: STUN });
    const res = await get("/api/ice-servers");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { iceServers: [{ urls: STUN }] });
  });

  it("with auth on refuses a missing or invalid token with 401", async () => {
    server = await startTestServer({ ...TURN_CONFIG, authSecret: HS_SECRET });
    const expired = await signWith(
      secretKey(HS_SECRET),
      "HS256",
      validClaims("r", "alice", { exp: nowSeconds() - 3600 }),
    );
    const cases: [string, Record<string, string>, string][] = [
      ["/api/ice-servers", {}, "a join token is required"],
      ["/api/ice-servers", { Authorization: "Basic dXNlcjpwYXNz" }, "a join token is required"],
      ["/api/ice-servers", { Authorization: "Bearer abc" }, "join token is malformed"],
      ["/api/ice-servers?token=a.b.c", {}, "join token is malformed"],
      ["/api/ice-servers", { Authorization: `Bearer ${expired}` }, "join token has expired"],
      [`/api/ice-servers?token=${expired}`, {}, "join token has expired"],
    ];
    for (const [path, headers, message] of cases) {
      const res = await get(path, headers);
      assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assertSecurityHeaders(res);
      assert.deepEqual(await res.json(), { error: "unauthorized", message });
    }
  });

  it("with auth on answers a valid token from Authorization: Bearer or ?token=", async () => {
    server = await startTestServer({ ...TURN_CONFIG, authSecret: HS_SECRET });
    const token = await mintJoinToken({ secret: HS_SECRET }, { room: "any", sub: "carol" });
    for (const [path, headers] of [
      ["/api/ice-servers", { Authorization: `Bearer ${token}` }],
      [`/api/ice-servers?token=${token}`, {}],
    ] as const) {
      const res = await get(path, headers);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assertSecurityHeaders(res);
      const body = (await res.json()) as { iceServers: IceServerJson[]; ttl: number };
      assert.equal(body.ttl, TTL);
      assertTurnFor(body.iceServers, "carol");
    }
  });

  it("answers 503 when the keys to verify a token cannot be fetched", async () => {
    const jwks = await startJwksServer([]);
    await jwks.close();
    server = await startTestServer({ authJwksUrl: jwks.url });
    const token = await signWith(keyPair("ec").privateKey, "ES256", validClaims("r", "a"), "k");
    const res = await get("/api/ice-servers", { Authorization: `Bearer ${token}` });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(await res.json(), {
      error: "internal",
      message: "cannot fetch the keys to verify the join token",
    });
  });

  it("puts the security headers on every other response too", async () => {
    server = await startTestServer({ authSecret: HS_SECRET });
    const health = await get("/healthz");
    assert.equal(health.status, 200);
    assertSecurityHeaders(health);
    const missing = await get("/no/such/page");
    assert.equal(missing.status, 404);
    assertSecurityHeaders(missing);
    const post = await fetch(`${server.httpUrl}/api/ice-servers`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assertSecurityHeaders(post);
    await post.body?.cancel();
    const root = await get("/");
    assertSecurityHeaders(root);
    await root.body?.cancel();
    await health.body?.cancel();
    await missing.body?.cancel();
  });
});

describe("/api/ice-servers rate limit (ICE_SERVERS_RATE_PER_MINUTE 30, burst 10)", () => {
  const time = manualClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { ...TURN_CONFIG, trustProxy: "loopback" },
      { clock: time.clock },
    );
  });
  after(async () => server.close());

  const get = (address: string) =>
    fetch(`${server.httpUrl}/api/ice-servers`, { headers: { "X-Forwarded-For": address } });

  it("answers a burst of 10 per address, then 429 with Retry-After, and refills at the rate", async () => {
    for (let i = 0; i < 10; i++)
      assert.equal((await get("203.0.113.1")).status, 200, `request ${i}`);
    const refused = await get("203.0.113.1");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "2");
    assert.equal(refused.headers.get("cache-control"), "no-store");
    assert.deepEqual(await refused.json(), {
      error: "rate-limited",
      message: "too many requests; slow down",
    });
    // Another address has its own allowance; an IPv6 /64 is one address.
    assert.equal((await get("203.0.113.2")).status, 200);
    for (let i = 1; i <= 10; i++) assert.equal((await get(`2001:db8:5::${i}`)).status, 200);
    assert.equal((await get("2001:db8:5::ffff")).status, 429);
    // 30 a minute: one more every 2 s.
    time.advance(2000);
    assert.equal((await get("203.0.113.1")).status, 200);
    assert.equal((await get("203.0.113.1")).status, 429);
  });
});
