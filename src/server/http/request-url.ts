/**
 * Parses a request's target. Node passes the request line's target as it
 * came, and `new URL` throws on some that clients can send (`//x:y`): an
 * unguarded parse would take the process down. Returns null for those.
 */
export function requestUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch {
    return null;
  }
}
