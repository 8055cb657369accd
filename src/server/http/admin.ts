import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { encode, normalizeRoomId } from "../../protocol/index.js";
import type { AddressLimiter } from "../limits/address-limiter.js";
import type { Rooms } from "../rooms/rooms.js";
import { bearerToken, sameSecret, sendJson } from "./routes.js";

export interface AdminDeps {
  /** ADMIN_TOKEN: the bearer token every admin request carries. */
  readonly token: string;
  readonly rooms: Rooms;
  /** Admin requests per client address (a guesser of the token gets nowhere fast). */
  readonly limiter: AddressLimiter;
  readonly clientAddress: (req: IncomingMessage) => string;
  readonly logger: Logger;
}

/** The prefix of the admin API. */
export const ADMIN_PREFIX = "/api/admin/";
/** Rooms listed at most per request. */
const MAX_LIST = 10_000;
/** Largest request body (a kick names one peer id). */
const MAX_BODY = 4096;
/** Who removed a member, as its `kicked` frame says. */
const BY_ADMIN = "admin";

/**
 * The admin API (ADMIN_TOKEN): list rooms, look into one, remove a member
 * or everyone. Answers JSON; `{"error": code, "message": …}` on refusal.
 * Every request is rate-limited per address before the token is checked,
 * and the token is compared in constant time.
 */
export function createAdminHandler(deps: AdminDeps) {
  return (req: IncomingMessage, res: ServerResponse, path: string, url: URL): void => {
    res.setHeader("Cache-Control", "no-store");
    if (!deps.limiter.take(deps.clientAddress(req))) {
      sendJson(res, 429, { error: "rate-limited", message: "too many requests; slow down" });
      return;
    }
    if (!sameSecret(bearerToken(req), deps.token)) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="admin"');
      sendJson(res, 401, { error: "unauthorized", message: "the admin token is required" });
      return;
    }
    route(deps, req, res, path.slice(ADMIN_PREFIX.length), url).catch((error: unknown) => {
      deps.logger.error({ err: error, path }, "admin request failed");
      if (!res.headersSent) {
        sendJson(res, 503, { error: "unavailable", message: "cannot reach the room store" });
      }
    });
  };
}

async function route(
  deps: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
  url: URL,
): Promise<void> {
  const method = req.method ?? "GET";
  const parts = rest.split("/");
  if (parts[0] !== "rooms") return notFound(res);
  if (parts.length === 1) {
    if (method !== "GET") return notAllowed(res, "GET");
    const limitParam = url.searchParams.get("limit");
    const limit = limitParam === null ? 1000 : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      return sendJson(res, 400, {
        error: "bad-request",
        message: `limit must be a whole number from 1 to ${MAX_LIST}`,
      });
    }
    return sendJson(res, 200, { rooms: await deps.rooms.listRooms(limit) });
  }
  let raw: string;
  try {
    raw = decodeURIComponent(parts[1] ?? "");
  } catch {
    return sendJson(res, 400, {
      error: "bad-room-id",
      message: "the room id is not valid URL encoding",
    });
  }
  const room = normalizeRoomId(raw);
  if (!room.ok) return sendJson(res, 400, { error: room.error.code, message: room.error.message });
  const { roomId } = room;
  if (parts.length === 2) {
    if (method === "GET") {
      const detail = await deps.rooms.inspectRoom(roomId);
      return detail ? sendJson(res, 200, { room: detail }) : notFound(res, "no such room");
    }
    if (method === "DELETE") {
      const removed = await deps.rooms.evict(roomId, null, {
        kicked: encode({ type: "kicked", roomId, by: BY_ADMIN }),
        peerLeft: "",
      });
      if (removed.length === 0) return notFound(res, "no such room");
      deps.logger.info({ roomId, removed: removed.length }, "room closed by an admin");
      return sendJson(res, 200, { removed });
    }
    return notAllowed(res, "GET, DELETE");
  }
  if (parts.length === 3 && parts[2] === "kick") {
    if (method !== "POST") return notAllowed(res, "POST");
    const body = await readJson(req);
    if (body === TOO_LARGE) {
      return sendJson(res, 413, {
        error: "too-large",
        message: `the body is over ${MAX_BODY} bytes`,
      });
    }
    const peerId =
      body && typeof body === "object" ? (body as { peerId?: unknown }).peerId : undefined;
    if (typeof peerId !== "string" || peerId.length === 0 || peerId.length > 128) {
      return sendJson(res, 400, {
        error: "bad-request",
        message: 'the body must be {"peerId": "<a peer id>"}',
      });
    }
    const removed = await deps.rooms.evict(roomId, peerId, {
      kicked: encode({ type: "kicked", roomId, by: BY_ADMIN }),
      peerLeft: encode({ type: "peer-left", peerId, reason: "kicked" }),
    });
    if (removed.length === 0) return notFound(res, "no such member in that room");
    deps.logger.info({ roomId, peerId }, "member removed by an admin");
    return sendJson(res, 200, { removed });
  }
  return notFound(res);
}

const TOO_LARGE = Symbol("too large");

/**
 * The request's JSON body; undefined when it is not JSON, TOO_LARGE past
 * MAX_BODY (the rest is read and thrown away, so the answer still arrives).
 */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return resolve(TOO_LARGE);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString()));
      } catch {
        resolve(undefined);
      }
    });
    req.on("error", () => resolve(undefined));
  });
}

function notFound(res: ServerResponse, message = "not found"): void {
  sendJson(res, 404, { error: "not-found", message });
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader("Allow", allow);
  sendJson(res, 405, { error: "method not allowed" });
}
