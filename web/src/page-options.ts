/** What the page's address says, and what this device remembers. */

const TOKEN_KEY = "signalroom.token";
const NAME_KEY = "signalroom.name";
const LINK_NAME_KEY = "signalroom.linkName";

export interface PageOptions {
  /** `?room=`: join this room directly. */
  readonly room: string | undefined;
  /**
   * `?name=`: join as this name without asking (a link made for one
   * person). Kept for this tab only, never written to the device.
   */
  readonly linkName: string | undefined;
  /**
   * A join token handed out by the operator's backend, best in the
   * fragment (`/?room=R#token=JWT`), which browsers never send to a server
   * or proxy log; `?token=` works too. Kept in this tab's session storage.
   */
  readonly token: string | undefined;
  /** `relay=1`: all media through TURN (hides your IP address from the others). */
  readonly relayOnly: boolean;
  /** `quality=low`: 320x240 at 15 fps, for slow uplinks and big mesh calls. */
  readonly lowQuality: boolean;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * Reads the address. The token and a link's name move out of the address
 * bar into this tab's session storage, so a copied link carries neither.
 */
export function readPageOptions(): PageOptions {
  const params = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const urlToken = nonEmpty(fragment.get("token") ?? params.get("token"));
  if (urlToken) sessionStorage.setItem(TOKEN_KEY, urlToken);
  const urlName = nonEmpty(params.get("name"))?.slice(0, 64);
  if (urlName) sessionStorage.setItem(LINK_NAME_KEY, urlName);
  const options: PageOptions = {
    room: nonEmpty(params.get("room")),
    linkName: nonEmpty(sessionStorage.getItem(LINK_NAME_KEY)),
    token: nonEmpty(sessionStorage.getItem(TOKEN_KEY)),
    relayOnly: params.get("relay") === "1",
    lowQuality: params.get("quality") === "low",
  };
  if (urlToken || urlName || location.hash) {
    history.replaceState(
      null,
      "",
      options.room ? roomPath(options.room, options) : homePath(options),
    );
  }
  return options;
}

/** The page's address for a room: keeps `relay` and `quality`, never a token or a name. */
export function roomPath(
  roomId: string,
  opts: Pick<PageOptions, "relayOnly" | "lowQuality">,
): string {
  const query = new URLSearchParams({ room: roomId });
  if (opts.relayOnly) query.set("relay", "1");
  if (opts.lowQuality) query.set("quality", "low");
  return `${location.pathname}?${query}`;
}

/** The lobby's address. */
export function homePath(opts: Pick<PageOptions, "relayOnly">): string {
  return opts.relayOnly ? `${location.pathname}?relay=1` : location.pathname;
}

/** The name this device remembers, or "". */
export function rememberedName(): string {
  return localStorage.getItem(NAME_KEY)?.trim() ?? "";
}

/** Remembers a name typed in, for the next link opened on this device. */
export function rememberName(name: string): void {
  localStorage.setItem(NAME_KEY, name);
}

/**
 * The `name` claim of a join token, read without checking it (the server
 * checks the token and then uses this name): only to know that we need
 * not ask for one.
 */
export function tokenName(token: string | undefined): string | undefined {
  const payload = token?.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))),
    );
    return typeof claims?.name === "string" ? nonEmpty(claims.name) : undefined;
  } catch {
    return undefined;
  }
}
