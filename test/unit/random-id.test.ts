import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomId } from "../../src/server/random-id.js";

describe("randomId", () => {
  it("gives base64url ids of the asked length, never the same twice across many refills", () => {
    const seen = new Set<string>();
    // 10,000 ids of 16 bytes: about 156 refills of the kilobyte pool.
    for (let i = 0; i < 10_000; i++) {
      const id = randomId(16);
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(seen.has(id), false, `id ${id} handed out twice`);
      seen.add(id);
    }
  });

  it("uses the bytes it hands out once: consecutive ids share no bytes", () => {
    const a = Buffer.from(randomId(16), "base64url");
    const b = Buffer.from(randomId(16), "base64url");
    assert.equal(a.length, 16);
    assert.notDeepEqual(a, b);
  });

  it("refuses more than the pool holds, with a clear error", () => {
    assert.throws(() => randomId(4096), /at most 1024 bytes/);
  });
});
