import assert from "node:assert/strict";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { startTestServer } from "../helpers/server.js";

describe("shutdown", () => {
  it("finishes even when clients reconnect the moment they are told 1012", async () => {
    const server = await startTestServer();
    const clients = await Promise.all([server.connect(), server.connect(), server.connect()]);
    for (const [i, client] of clients.entries()) await client.join(`room-${i}`);

    // Every client reconnects as soon as it sees 1012, as shouldReconnect() advises.
    const retries: Promise<string>[] = clients.map(
      (client) =>
        new Promise((resolve) => {
          void client.closed().then(({ code }) => {
            assert.equal(code, 1012);
            const again = new WebSocket(server.wsUrl);
            again.on("open", () => {
              again.send(JSON.stringify({ type: "join", roomId: "sneaky" }));
              resolve("open");
            });
            again.on("unexpected-response", (_req, res) => resolve(`http ${res.statusCode}`));
            again.on("error", (error) =>
              resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`),
            );
          });
        }),
    );

    await server.app.close();
    const outcomes = await Promise.all(retries);
    // While draining the server refuses upgrades (503); once its sockets are
    // gone it stops listening (refused) and cuts what is still half-open
    // (reset). No reconnect ever gets a WebSocket ("open").
    for (const outcome of outcomes) {
      assert.match(outcome, /^(error ECONNREFUSED|error ECONNRESET|http 503)$/);
    }
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 0, members: 0, parked: 0 });
    assert.equal(server.app.connections(), 0);
  });
});
