/**
 * Builds the frame relayed to other members: the sender's original text
 * with `from` added. The payload is normally forwarded as the sender wrote
 * it, not re-serialised, which keeps the hot path to one `JSON.parse` per
 * message and means a payload Node can parse but not stringify (say, arrays
 * nested 30,000 deep) cannot crash the relay. Frames with a client-sent
 * `from` or a possibly duplicated `type` are rebuilt instead.
 *
 * Returns `null` when the frame cannot be relayed safely.
 */
export function relayFrame(
  text: string,
  message: Record<string, unknown>,
  from: string,
): string | null {
  const fromField = `"from":${JSON.stringify(from)}`;
  if (!Object.hasOwn(message, "from") && !mayHideDuplicateType(text)) {
    // `text` parsed as an object with a `type`, so its last non-blank
    // character is the closing brace and the object is not empty.
    const end = text.lastIndexOf("}");
    return `${text.slice(0, end)},${fromField}}`;
  }
  // Rebuild from the parsed object: drops a client-sent `from` and any
  // duplicate keys. Rare for our SDK's messages, so re-serialising is fine.
  const { from: _forged, ...rest } = message;
  try {
    const body = JSON.stringify(rest);
    return body === "{}" ? `{${fromField}}` : `${body.slice(0, -1)},${fromField}}`;
  } catch {
    return null;
  }
}

/**
 * Whether the text might spell the key `type` twice (directly or through a
 * `\u` escape). We act on the last `type`, as `JSON.parse` does, but a
 * receiver whose parser keeps the first, or refuses duplicates, would read
 * the frame differently: such frames are rebuilt, never forwarded as written.
 */
function mayHideDuplicateType(text: string): boolean {
  const first = text.indexOf('"type"');
  return first !== text.lastIndexOf('"type"') || text.includes("\\u");
}
