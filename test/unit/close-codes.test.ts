import assert from "node:assert/strict";
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
