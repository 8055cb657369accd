/**
 * The baseline for `npm run bench`: the origin design's relay, rewritten
 * minimally (http + ws, a Map of rooms of two, JSON.parse then
 * JSON.stringify on every relay), with `from` added so both servers do the
 * same work. Not for use: it has none of Signalroom's checks.
 */
import { createServer } from "node:http";
import { type WebSocket, WebSocketServer } from "ws";

interface Member extends WebSocket {
  roomId?: string | null;
  peerId?: string;
}

const port = Number(process.env.PORT ?? 0);
const server = createServer();
const wss = new WebSocketServer({ server });
const rooms = new Map<string, Set<Member>>();
let nextId = 0;

function send(ws: WebSocket, data: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(data));
}

function remove(ws: Member): void {
  const set = ws.roomId ? rooms.get(ws.roomId) : undefined;
  if (!set) return;
  set.delete(ws);
  for (const peer of set) send(peer, { type: "peer-left", peerId: ws.peerId });
  if (set.size === 0 && ws.roomId) rooms.delete(ws.roomId);
  ws.roomId = null;
}

wss.on("connection", (ws: Member) => {
  ws.roomId = null;
  ws.peerId = String(nextId++);
  ws.on("message", (buf) => {
    let msg: { type?: string; roomId?: unknown };
    try {
      msg = JSON.parse(buf.toString());
    } catch {
      return;
    }
    if (msg === null || typeof msg !== "object") return;
    if (msg.type === "join") {
      const roomId = String(msg.roomId ?? "").trim();
      remove(ws);
      const set = rooms.get(roomId) ?? new Set<Member>();
      if (set.size >= 2) return send(ws, { type: "full", roomId });
      set.add(ws);
      rooms.set(roomId, set);
      ws.roomId = roomId;
      send(ws, { type: "joined", roomId, peers: set.size - 1, peerId: ws.peerId });
      if (set.size === 2)
        for (const peer of set) send(peer, { type: "ready", isInitiator: peer === ws });
      return;
    }
    const set = ws.roomId ? rooms.get(ws.roomId) : undefined;
    if (!set) return;
    if (
      msg.type === "offer" ||
      msg.type === "answer" ||
      msg.type === "ice" ||
      msg.type === "message"
    ) {
      const out = { ...msg, from: ws.peerId };
      for (const peer of set) if (peer !== ws) send(peer, out);
    }
  });
  ws.on("close", () => remove(ws));
  ws.on("error", () => remove(ws));
});

server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ listening: typeof address === "object" ? address?.port : port })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
