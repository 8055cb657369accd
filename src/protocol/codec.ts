import { type ProtocolError, protocolError } from "./errors.js";

/** A decoded frame: a JSON object with a string `type`, or why not. */
export type DecodeResult =
  | { ok: true; type: string; message: Record<string, unknown> }
  | { ok: false; error: ProtocolError };

/**
 * Parses one text frame. Only the envelope is checked here: the frame must
 * be a JSON object with a string `type`. The object comes from `JSON.parse`,
 * so a `__proto__` key is an own data property, never a prototype.
 */
export function decodeFrame(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: protocolError("bad-json") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: protocolError("bad-message", "message must be a JSON object") };
  }
  const message = value as Record<string, unknown>;
  const type = Object.hasOwn(message, "type") ? message.type : undefined;
  if (typeof type !== "string") {
    return {
      ok: false,
      error: protocolError("bad-message", "type is required and must be a string"),
    };
  }
  return { ok: true, type, message };
}

/** Serialises a message we built ourselves (never a client's payload). */
export function encode(message: object): string {
  return JSON.stringify(message);
}
