import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ERROR_CODES, isErrorCode, protocolError } from "../../src/protocol/errors.js";
import { errorSchema } from "../../src/protocol/messages.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PROTOCOL_DOC = resolve(ROOT, "docs", "protocol.md");

/**
 * The codes in the table under the first heading that mentions "Error codes":
 * rows shaped `| \`code\` | ... |`, up to the next heading of the same or a higher level.
 */
function documentedCodes(markdown: string): string[] {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((line) => /^#{1,6}\s.*error codes/i.test(line));
  assert.notEqual(start, -1, 'docs/protocol.md has no heading containing "Error codes"');
  const level = /^#+/.exec(lines[start] ?? "")?.[0].length ?? 1;
  const codes: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#{1,6})\s/.exec(line);
    if (heading && (heading[1]?.length ?? 0) <= level) break;
    const row = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (row?.[1]) codes.push(row[1]);
  }
  return codes;
}

describe("error code registry", () => {
  it("holds the protocol's codes, each with a human message", () => {
    const required = [
      "bad-json",
      "bad-message",
      "unknown-type",
      "room-id-required",
      "bad-room-id",
      "not-in-room",
      "unknown-peer",
      "unauthorized",
      "forbidden",
      "rate-limited",
      "binary-not-supported",
    ];
    for (const code of required) assert.ok(isErrorCode(code), code);
    for (const [code, message] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[a-z]+(-[a-z]+)*$/, code);
      assert.ok(message.length > 0, code);
      assert.deepEqual(protocolError(code as keyof typeof ERROR_CODES), { code, message });
    }
    // The origin design's messages are kept word for word.
    assert.equal(ERROR_CODES["room-id-required"], "roomId is required");
    assert.equal(ERROR_CODES["not-in-room"], "join a room first");
    assert.equal(isErrorCode("__proto__"), false);
    assert.equal(isErrorCode("toString"), false);
  });

  it("is accepted by the error message schema, which also takes codes from newer servers", () => {
    for (const code of Object.keys(ERROR_CODES)) {
      assert.equal(errorSchema.safeParse({ type: "error", code, message: "m" }).success, true);
    }
    // Forward compatibility: a client must not drop an error over a code it does not know.
    assert.equal(
      errorSchema.safeParse({ type: "error", code: "newer-code", message: "m" }).success,
      true,
    );
    for (const code of [undefined, 42, null, {}]) {
      assert.equal(errorSchema.safeParse({ type: "error", code, message: "m" }).success, false);
    }
  });

  it("is listed exactly by the Error codes table of docs/protocol.md", () => {
    assert.ok(existsSync(PROTOCOL_DOC), "docs/protocol.md is missing");
    const documented = documentedCodes(readFileSync(PROTOCOL_DOC, "utf8"));
    const duplicates = documented.filter((code, i) => documented.indexOf(code) !== i);
    assert.deepEqual(duplicates, [], "codes listed twice in docs/protocol.md");
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
  });
});
