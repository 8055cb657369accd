import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { CLOSE_CODES } from "../../protocol/index.js";
import type { ClientAddressOf } from "../http/client-address.js";
import { requestUrl } from "../http/request-url.js";
import type { ConnectionCounter } from "../limits/connection-counter.js";
import type { SignalingContext } from "./context.js";
import type { LocalPeers } from "./registry.js";
import { newPeerId, Session } from "./session.js";

export interface GatewayOptions {
  /** Largest accepted frame in bytes; `ws` closes larger ones with 1009. */
  readonly maxMessageBytes: number;
  /** Ping interval; a socket that has not answered the previous ping is dropped. */
  readonly heartbeatIntervalMs: number;
  readonly peers: LocalPeers;
  /** Lower-case origins allowed to connect; empty allows any. */
  readonly allowedOrigins: readonly string[];
  readonly connectionsPerIp: ConnectionCounter;
  readonly clientAddress: ClientAddressOf;
  readonly createPeerId?: (() => string) | undefined;
}

/** Paths on which WebSocket upgrades are accepted. */
const WS_PATHS = new Set(["/", "/ws"]);

/**
 * Accepts WebSocket upgrades on the HTTP server and gives each socket a
 * {@link Session}. Refusals (path, origin, connections per address) are
 * plain HTTP answers before any WebSocket exists. Sockets are found dead by
 * ping/pong, not only by TCP close.
 */
export class SignalingGateway {
  readonly #wss: WebSocketServer;
  readonly #ctx: SignalingContext;
  readonly #opts: GatewayOptions;
  readonly #sessions = new Map<WebSocket, Session>();
  readonly #heartbeat: NodeJS.Timeout;
  #closing = false;

  constructor(ctx: SignalingContext, opts: GatewayOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // Sessions answer pings themselves, within the message rate limit.
      autoPong: false,
    });
    this.#heartbeat = setInterval(() => this.#beat(), opts.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** Number of open sockets. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** The HTTP server's `upgrade` listener. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    if (this.#closing) return refuse(socket, 503, "Service Unavailable");
    const url = requestUrl(req.url);
    if (url === null) return refuse(socket, 400, "Bad Request");
    if (!WS_PATHS.has(url.pathname)) return refuse(socket, 404, "Not Found");

    const origin = req.headers.origin?.toLowerCase();
    const allowed = this.#opts.allowedOrigins;
    // Browsers always send Origin; a client without one is not a browser
    // page, so cross-site WebSocket hijacking does not apply to it.
    if (
      origin !== undefined &&
      allowed.length > 0 &&
      !allowed.includes(origin) &&
      !allowed.includes("*")
    ) {
      this.#ctx.logger.debug(
        { origin: origin.slice(0, 200) },
        "refused a WebSocket from a foreign origin",
      );
      return refuse(socket, 403, "Forbidden");
    }

    const address = this.#opts.clientAddress(req);
    if (!this.#opts.connectionsPerIp.tryAcquire(address)) {
      this.#ctx.logger.info(
        { address },
        "refused a WebSocket: too many connections from one address",
      );
      return refuse(socket, 429, "Too Many Requests");
    }
    // An empty `?token=` is no token, answered "a join token is required".
    const token = url.searchParams.get("token") || undefined;
    let accepted = false;
    // `ws` answers a bad handshake itself and never calls back: release then.
    socket.once("close", () => {
      if (!accepted) this.#opts.connectionsPerIp.release(address);
    });
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.#accept(ws, address, token);
    });
  };

  #accept(ws: WebSocket, address: string, token: string | undefined): void {
    const peerId = (this.#opts.createPeerId ?? newPeerId)();
    const session = new Session(ws, this.#ctx, { peerId, connectionToken: token });
    this.#sessions.set(ws, session);
    this.#opts.peers.add(peerId, session);
    this.#ctx.logger.debug({ peerId, address }, "socket connected");

    ws.on("message", (data, isBinary) => session.receive(data, isBinary));
    ws.on("ping", (data) => session.receivePing(data));
    ws.on("pong", () => session.receivePong());
    // `ws` emits 'error' for protocol violations (bad UTF-8 -> 1007,
    // oversize -> 1009) and then closes; 'close' does the cleanup.
    ws.on("error", (error) => {
      this.#ctx.logger.debug({ peerId, err: error.message }, "socket error");
    });
    ws.on("close", (code) => {
      this.#sessions.delete(ws);
      this.#opts.connectionsPerIp.release(address);
      this.#ctx.logger.debug({ peerId, code }, "socket closed");
      void session.closed().finally(() => this.#opts.peers.delete(peerId));
    });
  }

  #beat(): void {
    for (const [ws, session] of this.#sessions) {
      if (session.awaitingPong) {
        ws.terminate();
        continue;
      }
      session.awaitingPong = true;
      ws.ping();
    }
  }

  /** Closes every socket with `code` and waits for their sessions to clean up. */
  async close(
    code: number = CLOSE_CODES.serviceRestart,
    reason = "server shutting down",
  ): Promise<void> {
    // From now on upgrades get 503: a client reconnecting on our 1012 must
    // not slip in after the sockets to close were counted.
    this.#closing = true;
    clearInterval(this.#heartbeat);
    const pending = [...this.#sessions.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once("close", () => resolve());
          ws.close(code, reason);
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(pending);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
