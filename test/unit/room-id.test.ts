import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ERROR_CODES } from "../../src/protocol/errors.js";
import { MAX_ROOM_ID_LENGTH, normalizeRoomId } from "../../src/protocol/room-id.js";

describe("normalizeRoomId", () => {
  it("trims strings and stringifies numbers, as String(roomId).trim()", () => {
    assert.deepEqual(normalizeRoomId("1001"), { ok: true, roomId: "1001" });
    assert.deepEqual(normalizeRoomId(" 1001 "), { ok: true, roomId: "1001" });
    assert.deepEqual(normalizeRoomId("\t1001\n"), { ok: true, roomId: "1001" });
    assert.deepEqual(normalizeRoomId(1001), { ok: true, roomId: "1001" });
    assert.deepEqual(normalizeRoomId(0), { ok: true, roomId: "0" });
    assert.deepEqual(normalizeRoomId(-0), { ok: true, roomId: "0" });
    assert.deepEqual(normalizeRoomId(1.5), { ok: true, roomId: "1.5" });
    assert.deepEqual(normalizeRoomId("a b"), { ok: true, roomId: "a b" });
    assert.deepEqual(normalizeRoomId("房间-1001 ✓"), { ok: true, roomId: "房间-1001 ✓" });
  });

  it("requires a room id, with the origin design's message", () => {
    for (const raw of [undefined, null, "", " ", "\t\n"]) {
      assert.deepEqual(normalizeRoomId(raw), {
        ok: false,
        error: { code: "room-id-required", message: "roomId is required" },
      });
    }
    assert.equal(ERROR_CODES["room-id-required"], "roomId is required");
  });

  it("accepts 128 characters and refuses 129 with bad-room-id", () => {
    assert.equal(MAX_ROOM_ID_LENGTH, 128);
    assert.deepEqual(normalizeRoomId("r".repeat(128)), { ok: true, roomId: "r".repeat(128) });
    assert.deepEqual(normalizeRoomId(` ${"r".repeat(128)} `), {
      ok: true,
      roomId: "r".repeat(128),
    });
    const long = normalizeRoomId("r".repeat(129));
    assert.equal(long.ok, false);
    assert.equal(!long.ok && long.error.code, "bad-room-id");
  });

  it("refuses control characters with bad-room-id", () => {
    for (const raw of [
      "a\u0000b",
      "a\nb",
      "a\rb",
      "a\u001fb",
      "a\u007fb",
      "a\u0085b",
      "a\u009fb",
      "a\u2028b",
      "a\u2029b",
      "\u0000",
    ]) {
      const result = normalizeRoomId(raw);
      assert.equal(result.ok, false, JSON.stringify(raw));
      assert.equal(!result.ok && result.error.code, "bad-room-id", JSON.stringify(raw));
    }
  });

  it("refuses non-finite numbers with bad-room-id", () => {
    for (const raw of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const result = normalizeRoomId(raw);
      assert.equal(!result.ok && result.error.code, "bad-room-id");
    }
  });

  it("refuses other types with bad-message naming the type", () => {
    const cases: [unknown, string][] = [
      [{}, "an object"],
      [[], "an array"],
      [["1001"], "an array"],
      [true, "a boolean"],
      [false, "a boolean"],
      [10n, "a bigint"],
    ];
    for (const [raw, kind] of cases) {
      assert.deepEqual(normalizeRoomId(raw), {
        ok: false,
        error: { code: "bad-message", message: `roomId must be a string or a number, not ${kind}` },
      });
    }
  });
});
