import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import {
  CLOSE_CODES,
  NO_RECONNECT_RANGE,
  RECONNECT_RANGE,
  shouldReconnect,
} from "../../src/protocol/close-codes.js";

describe("shouldReconnect", () => {
  it("reconnects for our 4000-4499 range, edges included", () => {
    assert.deepEqual(RECONNECT_RANGE, { min: 4000, max: 4499 });
    for (const code of [4000, 4001, 4250, 4498, 4499])
      assert.equal(shouldReconnect(code), true, String(code));
  });

  it("does not reconnect for our 4500-4999 range, edges included", () => {
    assert.deepEqual(NO_RECONNECT_RANGE, { min: 4500, max: 4999 });
    for (const code of [4500, 4501, 4750, 4998, 4999])
      assert.equal(shouldReconnect(code), false, String(code));
  });

  it("does not reconnect after a normal close or a protocol rejection", () => {
    for (const code of [
      1000,
      CLOSE_CODES.invalidPayload,
      CLOSE_CODES.policyViolation,
      CLOSE_CODES.messageTooBig,
    ]) {
      assert.equal(shouldReconnect(code), false, String(code));
    }
    assert.deepEqual(
      [CLOSE_CODES.invalidPayload, CLOSE_CODES.policyViolation, CLOSE_CODES.messageTooBig],
      [1007, 1008, 1009],
    );
  });

  it("reconnects after drops, server errors and restarts", () => {
    for (const code of [1006, CLOSE_CODES.internalError, CLOSE_CODES.serviceRestart]) {
      assert.equal(shouldReconnect(code), true, String(code));
    }
    assert.equal(CLOSE_CODES.serviceRestart, 1012);
  });
});

describe("the close codes table of docs/protocol.md", () => {
  const ROOT = resolve(import.meta.dirname, "..", "..");
  const doc = readFileSync(resolve(ROOT, "docs", "protocol.md"), "utf8");
  const section = doc.slice(doc.indexOf("### Close codes"));
  const rows = new Map<number, { meaning: string; reconnect: string }>();
  for (const line of section.split("\n").slice(1)) {
    if (line.startsWith("#")) break;
    const cells = /^\| (\d{4}) \| (.+) \| (.+) \|$/.exec(line);
    if (cells) rows.set(Number(cells[1]), { meaning: cells[2] ?? "", reconnect: cells[3] ?? "" });
  }
  /** Every server source file, to find which codes are really sent. */
  const serverSource = readdirSync(resolve(ROOT, "src", "server"), { recursive: true })
    .map(String)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => readFileSync(resolve(ROOT, "src", "server", file), "utf8"))
    .join("\n");
  /** Codes the `ws` library sends for us (its maxPayload and UTF-8 checks), or only clients send. */
  const NOT_SENT_BY_OUR_CODE = new Set(["invalidPayload", "messageTooBig", "goingAway"]);

  it("lists every code of the registry, and no code the server never uses", () => {
    for (const [name, code] of Object.entries(CLOSE_CODES)) {
      assert.ok(rows.has(code), `${name} (${code}) is missing from the table`);
    }
    const known = new Set<number>([1000, ...Object.values(CLOSE_CODES)]);
    for (const code of rows.keys())
      assert.ok(known.has(code), `${code} is documented but not in CLOSE_CODES`);
  });

  it("documents only codes that something really sends", () => {
    for (const [name] of Object.entries(CLOSE_CODES)) {
      if (NOT_SENT_BY_OUR_CODE.has(name)) continue;
      // A close with it, not a comparison against it (`#parks` names codes it only reads).
      assert.match(
        serverSource,
        new RegExp(`close\\(\\s*CLOSE_CODES\\.${name}\\b`),
        `${name} is never sent`,
      );
    }
  });

  it("says for each code what shouldReconnect decides", () => {
    for (const [code, { reconnect }] of rows) {
      const says = reconnect.startsWith("yes") ? true : reconnect.startsWith("no") ? false : null;
      assert.notEqual(says, null, `${code}: "${reconnect}" starts with neither yes nor no`);
      assert.equal(says, shouldReconnect(code), `${code}: the table says "${reconnect}"`);
    }
  });

  it("does not claim a close code for what is an HTTP refusal", () => {
    // A foreign origin, too many connections, draining: refused before any WebSocket exists.
    for (const [code, { meaning }] of rows) {
      assert.doesNotMatch(
        meaning,
        /origin|connections per|MAX_CONNECTIONS/i,
        `${code}: ${meaning}`,
      );
    }
  });
});
