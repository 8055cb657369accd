/**
 * For scale in `npm run bench`: the least a relay on `ws` can do. Rooms of
 * two from the first `join`, and every later frame handed to the other
 * member as it came, never parsed (no `from`, no checks). Not for use.
 */
import { createServer } from "node:http";
import { type RawData, type WebSocket, WebSocketServer } from "ws";

interface Member extends WebSocket {
  peer?: Member | null;
}

const server = createServer();
const wss = new WebSocketServer({ server });
const waiting = new Map<string, Member>();

wss.on("connection", (ws: Member) => {
  ws.peer = null;
  let joined = false;
  ws.on("message", (data: RawData, isBinary) => {
    if (joined) {
      if (ws.peer?.readyState === ws.OPEN) ws.peer.send(data, { binary: isBinary });
      return;
    }
    // The join is the one frame read: the room id is needed to pair.
    joined = true;
    const { roomId } = JSON.parse(data.toString()) as { roomId?: string };
    const room = String(roomId);
    const other = waiting.get(room);
    ws.send(JSON.stringify({ type: "joined", roomId: room, peers: other ? 1 : 0 }));
    if (!other) {
      waiting.set(room, ws);
      return;
    }
    waiting.delete(room);
    ws.peer = other;
    other.peer = ws;
    other.send('{"type":"ready","isInitiator":false}');
    ws.send('{"type":"ready","isInitiator":true}');
  });
  ws.on("close", () => {
    if (ws.peer) ws.peer.peer = null;
    for (const [room, m] of waiting) if (m === ws) waiting.delete(room);
  });
});

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ listening: typeof address === "object" ? address?.port : 0 })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
