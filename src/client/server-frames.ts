// First: zod's JIT must be off before src/protocol builds its schemas (see zod-jitless.ts).
import "./zod-jitless.js";
import { RELAY_TYPES, type ServerMessage, serverMessageSchema } from "../protocol/index.js";
import { SignalroomError } from "./errors.js";

const RELAYED: ReadonlySet<string> = new Set(RELAY_TYPES);

/**
 * Reads one frame from the server: the message, or a `bad-server-message`
 * error saying why it is none (binary, not JSON, not in the protocol).
 */
export function parseServerFrame(data: unknown): ServerMessage | SignalroomError {
  if (typeof data !== "string") {
    return new SignalroomError("bad-server-message", "binary frame from server");
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    return new SignalroomError("bad-server-message", "server sent invalid JSON", { cause: error });
  }
  const parsed = serverMessageSchema.safeParse(value);
  if (!parsed.success) {
    return new SignalroomError(
      "bad-server-message",
      `unexpected server message: ${parsed.error.message}`,
    );
  }
  // The schema passes unknown fields through, so this is the sender's whole payload.
  return parsed.data as ServerMessage;
}

/**
 * Splits the request `id` off a server reply: the message without it, and
 * the id when it is a string. Our requests' ids come back on the server's
 * own replies only; a relayed payload's `id` is the sending peer's
 * business, never ours, so it is left in place.
 */
export function takeRequestId(received: ServerMessage): {
  message: ServerMessage;
  id: string | undefined;
} {
  if (RELAYED.has(received.type) || !Object.hasOwn(received, "id")) {
    return { message: received, id: undefined };
  }
  const { id, ...rest } = received as ServerMessage & { id?: unknown };
  return { message: rest as ServerMessage, id: typeof id === "string" ? id : undefined };
}

/**
 * Removes `seq` from a message (sequence numbers are the SDK's business,
 * not its listeners') and returns it; undefined when the frame is not
 * numbered (outside a room) or the number is not one.
 */
export function takeSeq(message: ServerMessage): number | undefined {
  if (!Object.hasOwn(message, "seq")) return undefined;
  const { seq } = message as { seq?: unknown };
  delete (message as { seq?: unknown }).seq;
  return typeof seq === "number" ? seq : undefined;
}
