import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import sirv from "sirv";
import { requestUrl } from "./request-url.js";

/** A JSON answer: status and body. */
export interface JsonReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpDeps {
  /** Folder of the built web app, or null to serve none. */
  readonly webRoot: string | null;
  /** Whether the server speaks TLS itself (adds HSTS). */
  readonly tls: boolean;
  readonly health: () => Promise<Record<string, unknown>>;
  /** Where a failure behind a 500 or 503 is told: the client only sees the status. */
  readonly logger: Logger;
  /** False while draining for shutdown: `/readyz` answers 503 so balancers stop sending. */
  readonly ready: () => boolean;
  /** The admin API (ADMIN_TOKEN), or null when it is off (404). */
  readonly admin:
    | ((req: IncomingMessage, res: ServerResponse, path: string, url: URL) => void)
    | null;
  /** `/metrics` on this listener, or null when it has its own (METRICS_PORT). */
  readonly metrics: MetricsEndpoint | null;
  /** ICE servers for the bearer of `token` (undefined when none was sent), asked by `req`. */
  readonly iceServers: (req: IncomingMessage, token: string | undefined) => Promise<JsonReply>;
}

/** What `GET /metrics` serves, and the bearer token it requires (METRICS_TOKEN), if any. */
export interface MetricsEndpoint {
  readonly token: string | undefined;
  readonly logger: Logger;
  scrape(): Promise<{ contentType: string; body: string }>;
}

/**
 * `GET /metrics`: the Prometheus text format, behind the bearer token when
 * one is configured (compared in constant time, as digests, so neither its
 * content nor its length leaks through timing).
 */
export function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: MetricsEndpoint,
): void {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    methodNotAllowed(res);
    return;
  }
  res.setHeader("Cache-Control", "no-store");
  if (metrics.token !== undefined && !sameSecret(bearerToken(req), metrics.token)) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="metrics"');
    sendJson(res, 401, { error: "unauthorized", message: "a metrics token is required" });
    return;
  }
  metrics.scrape().then(
    ({ contentType, body }) => {
      res.writeHead(200, {
        "Content-Type": contentType,
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(method === "HEAD" ? undefined : body);
    },
    (error: unknown) => {
      metrics.logger.error({ err: error }, "/metrics failed");
      sendJson(res, 500, { error: "internal", message: "internal server error" });
    },
  );
}

export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The web app runs under this policy: its own scripts and styles only, no
 * inline code, WebSockets back to the same origin only ('self' covers ws:
 * and wss: on the page's host), never framed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

/** Headers on every HTTP response. */
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
};

/** The HTTP side: health, readiness, ICE servers, and the web app's static files. */
export function createRequestHandler(deps: HttpDeps) {
  const serveStatic =
    deps.webRoot && existsSync(join(deps.webRoot, "index.html"))
      ? sirv(deps.webRoot, { etag: true, gzip: false, brotli: false, dotfiles: false })
      : null;

  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (deps.tls) res.setHeader("Strict-Transport-Security", "max-age=31536000");
    const url = requestUrl(req.url);
    if (url === null) {
      sendJson(res, 400, { error: "bad request" });
      return;
    }
    const path = url.pathname;
    const method = req.method ?? "GET";

    if (path === "/healthz") {
      if (method !== "GET" && method !== "HEAD") {
        methodNotAllowed(res);
        return;
      }
      deps.health().then(
        (body) => sendJson(res, 200, { status: "ok", ...body }),
        (error: unknown) => {
          deps.logger.error({ err: error }, "/healthz failed");
          sendJson(res, 503, { status: "error" });
        },
      );
      return;
    }
    if (path === "/readyz") {
      if (method !== "GET" && method !== "HEAD") {
        methodNotAllowed(res);
        return;
      }
      res.setHeader("Cache-Control", "no-store");
      if (deps.ready()) sendJson(res, 200, { status: "ready" });
      else sendJson(res, 503, { status: "draining" });
      return;
    }
    if (path.startsWith("/api/admin/")) {
      if (deps.admin === null) sendJson(res, 404, { error: "not found" });
      else deps.admin(req, res, path, url);
      return;
    }
    if (path === "/metrics" && deps.metrics !== null) {
      serveMetrics(req, res, deps.metrics);
      return;
    }
    if (path === "/api/ice-servers") {
      if (method !== "GET" && method !== "HEAD") {
        methodNotAllowed(res);
        return;
      }
      res.setHeader("Cache-Control", "no-store");
      deps.iceServers(req, bearerToken(req) ?? url.searchParams.get("token") ?? undefined).then(
        (reply) => sendJson(res, reply.status, reply.body, reply.headers),
        (error: unknown) => {
          deps.logger.error({ err: error }, "/api/ice-servers failed");
          sendJson(res, 500, { error: "internal", message: "internal server error" });
        },
      );
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

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse): void {
  res.setHeader("Allow", "GET, HEAD");
  sendJson(res, 405, { error: "method not allowed" });
}
