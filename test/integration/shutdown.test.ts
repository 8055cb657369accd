import assert from "node:assert/strict";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { startTestServer } from "../helpers/server.js";
import { within } from "../helpers/wait.js";

describe("shutdown", () => {
  it("finishes even when clients reconnect the moment they are told 1012", async () => {
    const server = await startTestServer();
    const clients = await Promise.all([server.connect(), server.connect(), server.connect()]);
    for (const [i, client] of clients.entries()) await client.join(`room-${i}`);
    // Read before shutdown: close() always empties the store, so counts read
    // after it would pass whatever happened.
    assert.deepEqual(await server.app.rooms.stats(), { rooms: 3, members: 3, parked: 0 });
    assert.equal(server.app.connections(), 3, "three sockets open before shutdown");

    // Every client reconnects as soon as it sees 1012, as shouldReconnect() advises.
    const retries: Promise<string>[] = clients.map((client, i) =>
      within(
        new Promise<string>((resolve, reject) => {
          client.closed().then(({ code }) => {
            // Any other close is an outcome the check below refuses.
            if (code !== 1012) return resolve(`closed ${code}`);
            const again = new WebSocket(server.wsUrl);
            again.on("open", () => {
              again.send(JSON.stringify({ type: "join", roomId: "sneaky" }));
              resolve("open");
            });
            again.on("unexpected-response", (_req, res) => resolve(`http ${res.statusCode}`));
            again.on("error", (error) =>
              resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`),
            );
          }, reject);
        }),
        10_000,
        `client ${i}: its close (1012) and the outcome of its reconnect`,
      ),
    );

    await within(server.app.close(), 15_000, "the server to finish shutting down");
    const outcomes = await Promise.all(retries);
    // While draining the server refuses upgrades (503); once its sockets are
    // gone it stops listening (refused) and cuts what is still half-open
    // (reset). No reconnect ever gets a WebSocket ("open").
    for (const outcome of outcomes) {
      assert.match(outcome, /^(error ECONNREFUSED|error ECONNRESET|http 503)$/);
    }
    // Not one of the reconnects got a socket in.
    assert.equal(server.app.connections(), 0, "sockets open after shutdown");
  });
});
