import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, iceServersFor, loadConfig } from "../../src/server/config.js";

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
  it("defaults to the embedded mode", () => {
    const config = loadConfig();
    assert.deepEqual(
      { ...config, webRoot: typeof config.webRoot },
      {
        port: 3000,
        host: "0.0.0.0",
        maxPeers: 2,
        maxMessageBytes: 65536,
        heartbeatIntervalMs: 30000,
        stunUrls: [],
        logLevel: "info",
        webRoot: "string",
      },
    );
  });

  it("reads every option from the environment", () => {
    const config = loadConfig({
      env: {
        PORT: "8080",
        HOST: "127.0.0.1",
        MAX_PEERS: "6",
        MAX_MESSAGE_BYTES: "2048",
        HEARTBEAT_INTERVAL_MS: "5000",
        STUN_URLS: "stun:a.example:3478, ,stuns:b.example",
        LOG_LEVEL: "debug",
        WEB_ROOT: "/srv/web",
      },
    });
    assert.deepEqual(config, {
      port: 8080,
      host: "127.0.0.1",
      maxPeers: 6,
      maxMessageBytes: 2048,
      heartbeatIntervalMs: 5000,
      stunUrls: ["stun:a.example:3478", "stuns:b.example"],
      logLevel: "debug",
      webRoot: "/srv/web",
    });
  });

  it("reads every option from flags", () => {
    const config = loadConfig({
      argv: [
        "--port",
        "8081",
        "--host=::1",
        "--max-peers",
        "4",
        "--max-message-bytes",
        "4096",
        "--heartbeat-interval-ms",
        "1000",
        "--stun",
        "stun:x.example",
        "--log-level",
        "warn",
        "--web-root",
        "",
      ],
    });
    assert.deepEqual(config, {
      port: 8081,
      host: "::1",
      maxPeers: 4,
      maxMessageBytes: 4096,
      heartbeatIntervalMs: 1000,
      stunUrls: ["stun:x.example"],
      logLevel: "warn",
      webRoot: "",
    });
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
      [{ STUN_URLS: "http://stun.example" }, /STUN_URLS \/ --stun: must be a stun:\/turn: URL/],
      [{ LOG_LEVEL: "loud" }, /LOG_LEVEL \/ --log-level/],
    ];
    for (const [env, pattern] of cases) {
      assertConfigError(() => loadConfig({ env }), /^invalid configuration/, pattern);
    }
  });

  it("lists every invalid value at once", () => {
    assertConfigError(
      () => loadConfig({ env: { PORT: "x", LOG_LEVEL: "loud" } }),
      /PORT \/ --port/,
      /LOG_LEVEL \/ --log-level/,
    );
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
    assert.deepEqual(loadConfig({ overrides: { stunUrls: ["turn:t.example"] } }).stunUrls, [
      "turn:t.example",
    ]);
  });

  it("refuses unknown flags and positional arguments with a ConfigError", () => {
    assertConfigError(() => loadConfig({ argv: ["--nope", "1"] }), /--nope/);
    assertConfigError(() => loadConfig({ argv: ["stray"] }), /stray/);
  });
});

describe("iceServersFor", () => {
  it("hands out no ICE servers by default and one entry with every STUN URL otherwise", () => {
    assert.deepEqual(iceServersFor(loadConfig()), []);
    assert.deepEqual(iceServersFor(loadConfig({ env: { STUN_URLS: "stun:a,stun:b" } })), [
      { urls: ["stun:a", "stun:b"] },
    ]);
  });
});
