import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

/*
 * The SDK turns zod's JIT off (src/client/zod-jitless.ts) so that pages under
 * `script-src 'self'` see no CSP violation: zod's probe is a `new Function("")`
 * whose error it swallows, and the browser reports it anyway. Node has no
 * CSP, so these tests watch `Function` itself: every call of it is what a
 * browser would have reported. Nothing of zod, the protocol or the SDK may be
 * imported statically here: it must load after `Function` is watched.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Source that makes `globalThis.Function` record each call in `globalThis.functionCalls`. */
const WATCH_FUNCTION = `
const calls = [];
globalThis.functionCalls = calls;
globalThis.Function = new Proxy(Function, {
  construct(target, args) { calls.push(String(args.at(-1))); return Reflect.construct(target, args); },
  apply(target, self, args) { calls.push(String(args.at(-1))); return Reflect.apply(target, self, args); },
});`;

/** Frames of every shape the SDK parses, as the server writes them. */
const FRAMES = [
  { type: "joined", roomId: "r", peers: 0, peerId: "a", peerIds: [], members: [], seq: 1 },
  { type: "peer-joined", peerId: "b", name: "Bob", seq: 2 },
  { type: "offer", sdp: "v=0", from: "b", seq: 3 },
  { type: "locked", roomId: "r", by: "a", id: "c1", seq: 4 },
  { type: "peer-left", peerId: "b", reason: "kicked", seq: 5 },
  { type: "error", code: "forbidden", message: "only a host can do that" },
].map((frame) => JSON.stringify(frame));

describe("the SDK keeps zod from evaluating code (no CSP violation under script-src 'self')", () => {
  it("loading the SDK and parsing every kind of server frame never calls Function", async () => {
    new Function(WATCH_FUNCTION)();
    const calls = (globalThis as unknown as { functionCalls: string[] }).functionCalls;
    const sdk = await import("../../src/client/index.js");
    const { parseServerFrame } = await import("../../src/client/server-frames.js");
    for (const frame of FRAMES) {
      const parsed = parseServerFrame(frame);
      assert.ok(!(parsed instanceof sdk.SignalroomError), `${frame}: ${String(parsed)}`);
    }
    assert.deepEqual(calls, []);
    const { z } = await import("zod");
    assert.equal(z.config().jitless, true, "the configuration zod reads says jitless");
  });

  it("without the SDK first (as in the server), zod does probe: the check above can fail", () => {
    // A fresh process: in this one zod is loaded already. It imports the
    // protocol the way the server does and parses one frame.
    const protocol = pathToFileURL(join(ROOT, "src/protocol/index.ts")).href;
    const script = `${WATCH_FUNCTION}
const { serverMessageSchema } = await import(${JSON.stringify(protocol)});
serverMessageSchema.parse(${FRAMES[0]});
const { z } = await import("zod");
console.log(JSON.stringify({ calls: globalThis.functionCalls.length, jitless: z.config().jitless ?? false }));`;
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", script],
      { cwd: ROOT, encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}");
    assert.equal(result.jitless, false);
    assert.ok(result.calls > 0, "zod probed (and compiled) with Function");
  });
});
