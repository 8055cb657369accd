/**
 * Builds the frame relayed to other members: the sender's original text
 * with `from` added. The payload is normally forwarded as the sender wrote
 * it, not re-serialised, which keeps the hot path to one `JSON.parse` per
 * message and means a payload Node can parse but not stringify (say, arrays
 * nested 30,000 deep) cannot crash the relay. Frames with a client-sent
 * `from` or `seq` (both are ours to set: `seq` is added per recipient
 * after this) or a possibly duplicated `type` are rebuilt instead.
 *
 * Returns `null` when the frame cannot be relayed safely.
 */
export function relayFrame(
  text: string,
  message: Record<string, unknown>,
  from: string,
): string | null {
  const fromField = `"from":${JSON.stringify(from)}`;
  if (
    !Object.hasOwn(message, "from") &&
    !Object.hasOwn(message, "seq") &&
    !mayHideDuplicateType(text)
  ) {
    // `text` parsed as an object with a `type`, so its last non-blank
    // character is the closing brace and the object is not empty.
    const end = text.lastIndexOf("}");
    return `${text.slice(0, end)},${fromField}}`;
  }
  // Rebuild from the parsed object: drops a client-sent `from` and any
  // duplicate keys. Rare for our SDK's messages, so re-serialising is fine.
  const { from: _forged, seq: _forgedSeq, ...rest } = message;
  try {
    const body = JSON.stringify(rest);
    return body === "{}" ? `{${fromField}}` : `${body.slice(0, -1)},${fromField}}`;
  } catch {
    return null;
  }
}

/**
 * Whether the object spells the key `type` more than once at its top level
 * (directly or through escapes). We act on the last `type`, as `JSON.parse`
 * does, but a receiver whose parser keeps the first, or refuses duplicates,
 * would read the frame differently: such frames are rebuilt, never
 * forwarded as written. The cheap `indexOf` test settles almost every frame;
 * only frames that mention `type` twice somewhere (the origin web client
 * nests `{type, sdp}`) or carry escapes are scanned.
 */
function mayHideDuplicateType(text: string): boolean {
  // Only a \u escape can spell the letters of "type" (SDP's \r\n cannot).
  // A second forward search, not `lastIndexOf`: V8 runs that one in C++,
  // byte by byte from the end, and it showed in profiles of 3.7 KB offers.
  const first = text.indexOf('"type"');
  if (text.indexOf('"type"', first + 1) === -1 && !text.includes("\\u")) return false;
  return topLevelKeyCount(text, "type") > 1;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** Counts the top-level keys of a JSON object text that decode to `name`. */
function topLevelKeyCount(text: string, name: string): number {
  let depth = 0;
  let count = 0;
  let previous = 0; // last significant character outside strings
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (end < text.length) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH) {
          escaped = true;
          end += 2;
        } else if (d === QUOTE) break;
        else end++;
      }
      if (depth === 1 && (previous === OPEN_BRACE || previous === COMMA)) {
        const raw = text.slice(i, end + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (key === name) count++;
      }
      previous = QUOTE;
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      previous = c;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      previous = c;
    } else if (c > 0x20) {
      previous = c;
    }
  }
  return count;
}
