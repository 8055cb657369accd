import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import sirv from "sirv";
import type { IceServer } from "../../protocol/index.js";

export interface HttpDeps {
  /** Folder of the built web app, or null to serve none. */
  readonly webRoot: string | null;
  readonly health: () => Promise<Record<string, unknown>>;
  readonly iceServers: () => IceServer[];
}

/** Headers on every HTTP response. */
const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
};

/** The HTTP side: health, ICE servers, and the web app's static files. */
export function createRequestHandler(deps: HttpDeps) {
  const serveStatic =
    deps.webRoot && existsSync(join(deps.webRoot, "index.html"))
      ? sirv(deps.webRoot, { etag: true, gzip: false, brotli: false, dotfiles: false })
      : null;

  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method ?? "GET";

    if (path === "/healthz") {
      if (method !== "GET" && method !== "HEAD") {
        methodNotAllowed(res);
        return;
      }
      deps.health().then(
        (body) => sendJson(res, 200, { status: "ok", ...body }),
        () => sendJson(res, 503, { status: "error" }),
      );
      return;
    }
    if (path === "/api/ice-servers") {
      if (method !== "GET" && method !== "HEAD") {
        methodNotAllowed(res);
        return;
      }
      res.setHeader("Cache-Control", "no-store");
      sendJson(res, 200, { iceServers: deps.iceServers() });
      return;
    }
    if (serveStatic && (method === "GET" || method === "HEAD")) {
      serveStatic(req, res, () => sendJson(res, 404, { error: "not found" }));
      return;
    }
    if (!serveStatic && path === "/") {
      res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("The web app is not built. Run `npm run build`.\n");
      return;
    }
    sendJson(res, 404, { error: "not found" });
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse): void {
  res.setHeader("Allow", "GET, HEAD");
  sendJson(res, 405, { error: "method not allowed" });
}
