import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { iceServersFor } from "../../src/server/auth/turn-credentials.js";
import {
  authEnabled,
  ConfigError,
  helpText,
  loadConfig,
  OPTIONS,
  redactedConfig,
} from "../../src/server/config.js";

/** Asserts that `load` throws a ConfigError whose message matches every pattern. */
function assertConfigError(load: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(load, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.equal(error.name, "ConfigError");
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe("loadConfig", () => {
  it("defaults to the embedded mode: open, in memory, 1:1 rooms", () => {
    const config = loadConfig();
    // Unset optional options are absent (undefined).
    for (const key of [
      "authSecret",
      "authPublicKey",
      "authJwksUrl",
      "tlsCert",
      "trustProxy",
      "redisUrl",
      "nodeId",
      "metricsToken",
      "metricsPort",
      "webhookUrl",
      "webhookSecret",
      "adminToken",
    ] as const) {
      assert.equal(config[key], undefined, key);
    }
    const { maxConnections, ...rest } = config;
    // Sized to the process's open-file limit, less what the rest of the process needs.
    const limit = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
    assert.ok(limit !== undefined, "this test reads the limit from /proc (Linux)");
    assert.equal(maxConnections, Math.max(1, Number(limit) - 256));
    assert.deepEqual(JSON.parse(JSON.stringify({ ...rest, webRoot: typeof config.webRoot })), {
      port: 3000,
      host: "0.0.0.0",
      maxPeers: 2,
      maxRoomCapacity: 16,
      maxMessageBytes: 65536,
      heartbeatIntervalMs: 10000,
      resumeGraceMs: 20000,
      resumeBufferMessages: 512,
      resumeBufferBytes: 1048576,
      resumeFailuresPerMinute: 30,
      shutdownDrainMs: 10000,
      nodeLivenessMs: 7000,
      stunUrls: [],
      turnUrls: [],
      turnSecrets: [],
      turnTtlSeconds: 3600,
      authClockToleranceSeconds: 30,
      allowedOrigins: [],
      rateLimitPerSecond: 50,
      rateLimitBurst: 200,
      rateLimitBytesPerSecond: 262144,
      rateLimitCloseAfter: 100,
      joinsPerMinute: 30,
      maxConnectionsPerIp: 64,
      iceServersPerMinute: 30,
      maxBufferedBytes: 1048576,
      joinTimeoutMs: 30000,
      metricsHost: "127.0.0.1",
      logFormat: "auto",
      logLevel: "info",
      webRoot: "string",
    });
    assert.equal(authEnabled(config), false);
  });

  // One value per option, as text, and what it becomes.
  const EVERY_OPTION: [keyof typeof OPTIONS, string, unknown][] = [
    ["port", "8080", 8080],
    ["host", "127.0.0.1", "127.0.0.1"],
    ["maxPeers", "6", 6],
    ["maxRoomCapacity", "8", 8],
    ["maxMessageBytes", "2048", 2048],
    ["heartbeatIntervalMs", "5000", 5000],
    ["resumeGraceMs", "0", 0],
    ["resumeBufferMessages", "64", 64],
    ["resumeBufferBytes", "65536", 65536],
    ["resumeFailuresPerMinute", "5", 5],
    ["shutdownDrainMs", "2500", 2500],
    ["redisUrl", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"],
    ["nodeId", "eu-1.a", "eu-1.a"],
    ["nodeLivenessMs", "5000", 5000],
    [
      "stunUrls",
      "stun:a.example:3478, ,stuns:b.example",
      ["stun:a.example:3478", "stuns:b.example"],
    ],
    [
      "turnUrls",
      "turn:t.example:3478?transport=udp,turns:t.example:443",
      ["turn:t.example:3478?transport=udp", "turns:t.example:443"],
    ],
    [
      "turnSecrets",
      "0123456789abcdef-new,0123456789abcdef-old",
      ["0123456789abcdef-new", "0123456789abcdef-old"],
    ],
    ["turnTtlSeconds", "600", 600],
    ["authSecret", "s".repeat(32), "s".repeat(32)],
    ["authIssuer", "https://issuer.example", "https://issuer.example"],
    ["authAudience", "signalroom", "signalroom"],
    ["authClockToleranceSeconds", "5", 5],
    ["tlsCert", "/etc/tls/cert.pem", "/etc/tls/cert.pem"],
    ["tlsKey", "/etc/tls/key.pem", "/etc/tls/key.pem"],
    ["trustProxy", "loopback", "loopback"],
    [
      "allowedOrigins",
      "https://A.example, http://b.example:8080",
      ["https://a.example", "http://b.example:8080"],
    ],
    ["rateLimitPerSecond", "10", 10],
    ["rateLimitBurst", "20", 20],
    ["rateLimitBytesPerSecond", "65536", 65536],
    ["rateLimitCloseAfter", "30", 30],
    ["joinsPerMinute", "40", 40],
    ["maxConnectionsPerIp", "50", 50],
    ["maxConnections", "5000", 5000],
    ["iceServersPerMinute", "12", 12],
    ["maxBufferedBytes", "65536", 65536],
    ["joinTimeoutMs", "7000", 7000],
    ["webhookUrl", "https://hooks.example/signalroom", "https://hooks.example/signalroom"],
    ["webhookSecret", "w".repeat(16), "w".repeat(16)],
    ["adminToken", "a".repeat(24), "a".repeat(24)],
    ["metricsToken", "m".repeat(16), "m".repeat(16)],
    ["metricsPort", "9100", 9100],
    ["metricsHost", "0.0.0.0", "0.0.0.0"],
    ["logFormat", "pretty", "pretty"],
    ["logLevel", "debug", "debug"],
    ["webRoot", "/srv/web", "/srv/web"],
  ];

  it("reads every option from the environment", () => {
    const env = Object.fromEntries(EVERY_OPTION.map(([key, text]) => [OPTIONS[key].env, text]));
    const config = loadConfig({ env });
    for (const [key, , value] of EVERY_OPTION) assert.deepEqual(config[key], value, key);
    assert.equal(authEnabled(config), true);
  });

  it("reads every option from flags", () => {
    const argv = EVERY_OPTION.flatMap(([key, text]) => [`--${OPTIONS[key].flag}`, text]);
    const config = loadConfig({ argv });
    for (const [key, , value] of EVERY_OPTION) assert.deepEqual(config[key], value, key);
  });

  it("covers every option in these tests, and in --help", () => {
    const tested = new Set<string>([
      ...EVERY_OPTION.map(([key]) => key),
      "authPublicKey",
      "authJwksUrl",
    ]);
    assert.deepEqual([...tested].sort(), Object.keys(OPTIONS).sort());
    const help = helpText();
    for (const spec of Object.values(OPTIONS)) {
      assert.ok(help.includes(`--${spec.flag}`) && help.includes(spec.env), spec.env);
    }
  });

  it("refuses options that only make sense together, or not at all together", () => {
    const secret = "s".repeat(32);
    assertConfigError(
      () => loadConfig({ env: { AUTH_SECRET: secret, AUTH_JWKS_URL: "https://x.example/jwks" } }),
      /only one of AUTH_SECRET, AUTH_PUBLIC_KEY, AUTH_JWKS_URL/,
    );
    assertConfigError(
      () => loadConfig({ env: { TLS_CERT: "/c.pem" } }),
      /TLS_CERT and TLS_KEY go together/,
    );
    assertConfigError(
      () => loadConfig({ env: { TURN_URLS: "turn:t" } }),
      /TURN_URLS and TURN_SECRET/,
    );
    assertConfigError(() => loadConfig({ env: { MAX_PEERS: "20" } }), /MAX_ROOM_CAPACITY/);
    assertConfigError(() => loadConfig({ env: { AUTH_SECRET: "short" } }), /AUTH_SECRET.*32/);
    assertConfigError(
      () => loadConfig({ env: { ALLOWED_ORIGINS: "https://a.example/path" } }),
      /ALLOWED_ORIGINS/,
    );
    assertConfigError(() => loadConfig({ env: { AUTH_JWKS_URL: "ftp://x" } }), /AUTH_JWKS_URL/);
    assertConfigError(
      () => loadConfig({ env: { WEBHOOK_URL: "https://hooks.example/x" } }),
      /^WEBHOOK_URL \/ --webhook-url: WEBHOOK_URL and WEBHOOK_SECRET go together/,
    );
  });

  it("refuses a frame limit above the slow-reader bound (the first big frame would cut its reader)", () => {
    assertConfigError(
      () => loadConfig({ env: { MAX_MESSAGE_BYTES: "2000000", MAX_BUFFERED_BYTES: "1048576" } }),
      /^MAX_MESSAGE_BYTES \/ --max-message-bytes: must not exceed MAX_BUFFERED_BYTES/,
    );
    const equal = { MAX_MESSAGE_BYTES: "1048576", MAX_BUFFERED_BYTES: "1048576" };
    assert.equal(loadConfig({ env: equal }).maxMessageBytes, 1048576);
  });

  it("refuses a JWKS URL over plain http unless it is this machine", () => {
    for (const url of [
      "http://idp.example/jwks",
      "http://10.0.0.1/jwks",
      "http://127.evil.example/",
    ]) {
      assertConfigError(
        () => loadConfig({ env: { AUTH_JWKS_URL: url } }),
        /^AUTH_JWKS_URL \/ --auth-jwks-url: must be https:\/\//,
      );
    }
    for (const url of [
      "https://idp.example/jwks",
      "http://localhost:8080/jwks",
      "http://127.0.0.1:8080/jwks",
      "http://[::1]:8080/jwks",
    ]) {
      assert.equal(loadConfig({ env: { AUTH_JWKS_URL: url } }).authJwksUrl, url);
    }
  });

  it("refuses an issuer or audience with no key to check tokens with (it would start with auth off)", () => {
    assertConfigError(
      () => loadConfig({ env: { AUTH_ISSUER: "https://idp.example" } }),
      /^AUTH_ISSUER \/ --auth-issuer: needs a key/,
    );
    assertConfigError(
      () => loadConfig({ env: { AUTH_AUDIENCE: "signalroom" } }),
      /^AUTH_AUDIENCE \/ --auth-audience: needs a key/,
    );
  });

  it("hides secrets when the config is shown", () => {
    const config = loadConfig({
      env: { AUTH_SECRET: "s".repeat(32), TURN_SECRET: "t".repeat(16), TURN_URLS: "turn:x" },
    });
    const shown = JSON.stringify(redactedConfig(config));
    assert.equal(shown.includes("s".repeat(32)), false);
    assert.equal(shown.includes("t".repeat(16)), false);
    assert.match(shown, /"authSecret":"\[redacted\]"/);
  });

  it("takes overrides over flags over environment over defaults", () => {
    const env = { PORT: "1111", MAX_PEERS: "3", LOG_LEVEL: "error" };
    const argv = ["--port", "2222", "--max-peers", "4"];
    assert.deepEqual(
      (({ port, maxPeers, logLevel, host }) => ({ port, maxPeers, logLevel, host }))(
        loadConfig({ env, argv, overrides: { port: 0 } }),
      ),
      { port: 0, maxPeers: 4, logLevel: "error", host: "0.0.0.0" },
    );
    assert.equal(loadConfig({ env, argv }).port, 2222);
    assert.equal(loadConfig({ env }).port, 1111);
  });

  it("treats an empty environment variable as unset", () => {
    assert.equal(loadConfig({ env: { PORT: "", MAX_PEERS: "" } }).port, 3000);
    assert.equal(loadConfig({ env: { PORT: "", MAX_PEERS: "" } }).maxPeers, 2);
  });

  it("ignores undefined overrides instead of erasing defaults", () => {
    const config = loadConfig({ overrides: { port: undefined, maxPeers: undefined } });
    assert.equal(config.port, 3000);
    assert.equal(config.maxPeers, 2);
  });

  it("names the environment variable and flag of an invalid value", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: "abc" }, /PORT \/ --port/],
      [{ PORT: "70000" }, /PORT \/ --port/],
      [{ PORT: "-1" }, /PORT \/ --port/],
      [{ MAX_PEERS: "1" }, /MAX_PEERS \/ --max-peers/],
      [{ MAX_PEERS: "2.5" }, /MAX_PEERS \/ --max-peers/],
      [{ MAX_MESSAGE_BYTES: "100" }, /MAX_MESSAGE_BYTES \/ --max-message-bytes/],
      [{ HEARTBEAT_INTERVAL_MS: "10" }, /HEARTBEAT_INTERVAL_MS \/ --heartbeat-interval-ms/],
      [{ STUN_URLS: "http://stun.example" }, /STUN_URLS \/ --stun: must be a stun:\/stuns: URL/],
      [{ STUN_URLS: "turn:t.example" }, /STUN_URLS \/ --stun/],
      [{ LOG_LEVEL: "loud" }, /LOG_LEVEL \/ --log-level/],
    ];
    for (const [env, pattern] of cases) {
      // One problem is one line: the option, then what is wrong.
      assertConfigError(() => loadConfig({ env }), pattern);
      assert.throws(
        () => loadConfig({ env }),
        (error: Error) => !error.message.includes("\n") && error.message.search(pattern) === 0,
      );
    }
  });

  it("lists every invalid value at once, one per line", () => {
    assertConfigError(
      () => loadConfig({ env: { PORT: "x", LOG_LEVEL: "loud" } }),
      /^2 problems:\n {2}PORT \/ --port: [^\n]+\n {2}LOG_LEVEL \/ --log-level: [^\n]+$/,
    );
  });

  it("aligns --help in columns: every description starts at the same place", () => {
    const rows = helpText()
      .split("\n")
      .filter((line) => line.startsWith("  --"));
    assert.equal(rows.length, Object.keys(OPTIONS).length + 1);
    const starts = new Set(rows.map((row) => /^ {2}--\S+\s+(?:[A-Z_]+\s+)?/.exec(row)?.[0].length));
    assert.equal(starts.size, 1, rows.join("\n"));
    const envStarts = new Set(
      rows
        .filter((row) => !row.startsWith("  --help"))
        .map((row) => /^ {2}--\S+\s+/.exec(row)?.[0].length),
    );
    assert.equal(envStarts.size, 1, rows.join("\n"));
  });

  it("refuses numbers that are not plain decimal integers", () => {
    // Blank or exotic spellings must not silently become port 0 (a random port).
    for (const value of [" ", "0x10", "1e3", "12abc", "3000.0", "+80"]) {
      assertConfigError(
        () => loadConfig({ env: { PORT: value } }),
        /PORT \/ --port: must be a whole number/,
      );
    }
    for (const argv of [["--port", ""], ["--port="], ["--max-peers", " "]]) {
      assertConfigError(() => loadConfig({ argv }), /--/);
    }
    assert.equal(loadConfig({ env: { PORT: " 8080 " } }).port, 8080);
    assert.equal(loadConfig({ env: { PORT: "0" } }).port, 0);
  });

  it("validates overrides like every other source", () => {
    assertConfigError(() => loadConfig({ overrides: { maxPeers: 1 } }), /MAX_PEERS/);
    assertConfigError(() => loadConfig({ overrides: { port: 1.5 } }), /PORT/);
    assertConfigError(() => loadConfig({ overrides: { stunUrls: ["http://x"] } }), /STUN_URLS/);
    assert.deepEqual(loadConfig({ overrides: { stunUrls: ["stun:s.example"] } }).stunUrls, [
      "stun:s.example",
    ]);
  });

  it("refuses unknown flags and positional arguments with a ConfigError", () => {
    assertConfigError(() => loadConfig({ argv: ["--nope", "1"] }), /--nope/);
    assertConfigError(() => loadConfig({ argv: ["stray"] }), /stray/);
  });
});

describe("iceServersFor", () => {
  it("hands out no ICE servers by default and one entry with every STUN URL otherwise", () => {
    assert.deepEqual(iceServersFor(loadConfig(), "u"), []);
    assert.deepEqual(iceServersFor(loadConfig({ env: { STUN_URLS: "stun:a,stun:b" } }), "u"), [
      { urls: ["stun:a", "stun:b"] },
    ]);
  });
});
