import assert from "node:assert/strict";
import { connect } from "node:net";
import { afterEach, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";

/** Sends raw bytes to the server and resolves with everything it answers. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
    socket.write(request);
  });
}

const TARGETS = ["//x:y", "//[", "http://[::1", "//a:99999999"];

describe("hostile HTTP request targets", () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  for (const target of TARGETS) {
    it(`answers 400 to GET ${target} and keeps serving`, async () => {
      server = await startTestServer();
      const answer = await rawRequest(
        server.app.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(answer, /^HTTP\/1\.1 400 /);
      const health = await fetch(`${server.httpUrl}/healthz`);
      assert.equal(health.status, 200);
    });

    it(`refuses a WebSocket upgrade to ${target} with 400 and keeps serving`, async () => {
      server = await startTestServer();
      const answer = await rawRequest(
        server.app.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      assert.match(answer, /^HTTP\/1\.1 400 /);
      const client = await server.connect();
      client.send({ type: "ping" });
      assert.deepEqual(await client.next(), { type: "pong" });
    });
  }
});
