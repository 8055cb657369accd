/**
 * Builds the frame relayed to other members: the sender's original text
 * with `from` added. The payload is forwarded as the sender wrote it, never
 * re-serialised, which keeps the hot path to one `JSON.parse` per message
 * and means a payload Node can parse but not stringify (say, arrays nested
 * 30,000 deep) cannot crash the relay.
 *
 * Returns `null` when the frame cannot be relayed safely.
 */
export function relayFrame(
  text: string,
  message: Record<string, unknown>,
  from: string,
): string | null {
  const fromField = `"from":${JSON.stringify(from)}`;
  if (!Object.hasOwn(message, "from")) {
    // `text` parsed as an object with a `type`, so its last non-blank
    // character is the closing brace and the object is not empty.
    const end = text.lastIndexOf("}");
    return `${text.slice(0, end)},${fromField}}`;
  }
  // A client-sent `from` must never reach the peer: rebuild without it.
  // This is the rare path, so re-serialising is acceptable here.
  const { from: _forged, ...rest } = message;
  try {
    const body = JSON.stringify(rest);
    return body === "{}" ? `{${fromField}}` : `${body.slice(0, -1)},${fromField}}`;
  } catch {
    return null;
  }
}
