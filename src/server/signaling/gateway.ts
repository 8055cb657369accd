import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { CLOSE_CODES } from "../../protocol/index.js";
import type { ClientAddressOf } from "../http/client-address.js";
import { requestUrl } from "../http/request-url.js";
import type { ConnectionCounter } from "../limits/connection-counter.js";
import { Connection, newPeerId } from "./connection.js";
import type { SignalingContext } from "./context.js";

export interface GatewayOptions {
  /** Largest accepted frame in bytes; `ws` closes larger ones with 1009. */
  readonly maxMessageBytes: number;
  /** Ping interval; a socket silent since the previous ping is dropped (and its member parked). */
  readonly heartbeatIntervalMs: number;
  /** Lower-case origins allowed to connect; empty allows any. */
  readonly allowedOrigins: readonly string[];
  readonly connectionsPerIp: ConnectionCounter;
  /** Open WebSockets in all (MAX_CONNECTIONS); more are refused with 503. */
  readonly maxConnections: number;
  readonly clientAddress: ClientAddressOf;
  readonly createPeerId?: (() => string) | undefined;
}

/**
 * A socket's error ends it. One function for all: a closure here would keep
 * the whole upgrade's scope alive for the socket's life.
 */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Paths on which WebSocket upgrades are accepted. */
const WS_PATHS = new Set(["/", "/ws"]);

/**
 * Accepts WebSocket upgrades on the HTTP server and gives each socket a
 * {@link Connection}. Refusals (path, origin, connections per address) are
 * plain HTTP answers before any WebSocket exists. Sockets are found dead by
 * ping/pong, not only by TCP close: one that has sent nothing (no frame, no
 * pong) since the previous ping is cut, so a silently dead socket is found
 * within two intervals.
 */
export class SignalingGateway {
  readonly #wss: WebSocketServer;
  readonly #ctx: SignalingContext;
  readonly #opts: GatewayOptions;
  readonly #connections = new Map<WebSocket, Connection>();
  readonly #heartbeat: NodeJS.Timeout;
  /** Closed sockets whose member is still being parked or taken out of its room. */
  readonly #settling = new Set<Promise<void>>();
  /** Upgrades accepted by us and still in `ws`'s handshake: they count towards MAX_CONNECTIONS. */
  #opening = 0;
  /** Refusals at MAX_CONNECTIONS not yet logged (one line a second, with the count). */
  #refusedAtMax = 0;
  #refusedAtMaxLoggedAt = Number.NEGATIVE_INFINITY;
  #closing = false;
  // Socket listeners, made once per gateway; `ws` calls them with the
  // socket as `this`.
  readonly #onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  readonly #onPing: (this: WebSocket, data: Buffer) => void;
  readonly #onPong: (this: WebSocket) => void;
  readonly #onError: (this: WebSocket, error: Error) => void;
  readonly #onClose: (this: WebSocket, code: number) => void;

  constructor(ctx: SignalingContext, opts: GatewayOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
    const connections = this.#connections;
    this.#onMessage = function (data, isBinary) {
      connections.get(this)?.receive(data, isBinary);
    };
    this.#onPing = function (data) {
      connections.get(this)?.receivePing(data);
    };
    this.#onPong = function () {
      connections.get(this)?.receivePong();
    };
    // `ws` emits 'error' only for protocol violations (bad UTF-8 -> 1007,
    // oversize -> 1009) and then closes: such a member leaves at once.
    this.#onError = function (error) {
      const connection = connections.get(this);
      if (connection === undefined) return;
      connection.violated();
      ctx.logger.debug({ peerId: connection.peerId, err: error.message }, "socket error");
    };
    const closed = (ws: WebSocket, code: number) => this.#closed(ws, code);
    this.#onClose = function (code) {
      closed(this, code);
    };
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
    return this.#connections.size;
  }

  /** The HTTP server's `upgrade` listener. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", destroyOnError);
    // Draining, or the room store is out of reach (clustered): another node
    // behind the load balancer can take this client.
    if (this.#closing || !this.#ctx.rooms.ready()) {
      return refuse(socket, 503, "Service Unavailable");
    }
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

    if (this.#connections.size + this.#opening >= this.#opts.maxConnections) {
      this.#ctx.metrics.limit("max-connections");
      this.#refusedFull();
      return refuse(socket, 503, "Service Unavailable");
    }
    const address = this.#opts.clientAddress(req);
    if (!this.#opts.connectionsPerIp.tryAcquire(address)) {
      this.#ctx.metrics.limit("connections-per-ip");
      this.#ctx.logger.info(
        { address },
        "refused a WebSocket: too many connections from one address",
      );
      return refuse(socket, 429, "Too Many Requests");
    }
    // An empty `?token=` is no token, answered "a join token is required".
    const token = url.searchParams.get("token") || undefined;
    this.#opening++;
    // `ws` answers a bad handshake itself and never calls back: release then.
    const unaccepted = () => {
      this.#opening--;
      this.#opts.connectionsPerIp.release(address);
    };
    socket.once("close", unaccepted);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // Not kept for the socket's life: it would be memory for nothing.
      socket.removeListener("close", unaccepted);
      this.#opening--;
      this.#accept(ws, address, token);
    });
  };

  /**
   * A refusal at MAX_CONNECTIONS: logged at most once a second with how
   * many there were, so a flood of them is one line a second, with a
   * stable `limit` field to count and alert on.
   */
  #refusedFull(): void {
    this.#refusedAtMax++;
    const now = performance.now();
    if (now - this.#refusedAtMaxLoggedAt < 1000) return;
    this.#refusedAtMaxLoggedAt = now;
    this.#ctx.logger.warn(
      {
        limit: "max-connections",
        max: this.#opts.maxConnections,
        refused: this.#refusedAtMax,
      },
      "refused WebSockets: MAX_CONNECTIONS reached",
    );
    this.#refusedAtMax = 0;
  }

  #accept(ws: WebSocket, address: string, token: string | undefined): void {
    const peerId = (this.#opts.createPeerId ?? newPeerId)();
    const connection = new Connection(ws, this.#ctx, { peerId, connectionToken: token, address });
    this.#connections.set(ws, connection);
    this.#ctx.logger.debug({ peerId, address }, "socket connected");

    // The listeners are the gateway's, made once: five closures per socket
    // would be memory every idle connection pays for.
    ws.on("message", this.#onMessage);
    ws.on("ping", this.#onPing);
    ws.on("pong", this.#onPong);
    ws.on("error", this.#onError);
    ws.on("close", this.#onClose);
  }

  /** The socket is gone: its connection settles its member, after what is in flight. */
  #closed(ws: WebSocket, code: number): void {
    const connection = this.#connections.get(ws);
    if (connection === undefined) return;
    // Ours when we closed it (a flooder's socket is cut, 1006, after our 1008).
    this.#ctx.metrics.closed(connection.closeCode ?? code);
    this.#connections.delete(ws);
    this.#opts.connectionsPerIp.release(connection.address);
    this.#ctx.logger.debug({ peerId: connection.peerId, code }, "socket closed");
    const settled = connection.closed(code).finally(() => this.#settling.delete(settled));
    this.#settling.add(settled);
  }
  #beat(): void {
    for (const [ws, connection] of this.#connections) {
      if (connection.awaitingPong) {
        // Cut without a close frame: to the member, the network dropped it.
        ws.terminate();
        continue;
      }
      connection.awaitingPong = true;
      ws.ping();
    }
  }

  /**
   * Closes every socket with 1012 ("restarting: reconnect") and waits up
   * to `drainMs` for them to go; the rest are cut. Their members are
   * parked, not announced as gone: on one node they go with the process,
   * and nobody is told that someone left who did not.
   */
  async close(drainMs: number): Promise<void> {
    // From now on upgrades get 503: a client reconnecting on our 1012 must
    // not slip in after the sockets to close were counted.
    this.#closing = true;
    clearInterval(this.#heartbeat);
    const sockets = [...this.#connections];
    const gone = sockets.map(
      ([ws]) => new Promise<void>((resolve) => ws.once("close", () => resolve())),
    );
    for (const [, connection] of sockets) {
      connection.close(CLOSE_CODES.serviceRestart, "server shutting down", drainMs);
    }
    await Promise.all(gone);
    await Promise.all([...this.#settling]);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  /**
   * This node can no longer vouch for its sockets (fenced, or its room
   * store is gone): every one closes with 1012, so clients reconnect,
   * through the load balancer, to a node that can serve them.
   */
  fence(reason: string): void {
    this.#ctx.logger.warn({ reason, sockets: this.#connections.size }, "closing every socket");
    for (const connection of this.#connections.values()) {
      connection.close(CLOSE_CODES.serviceRestart, "reconnect");
    }
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
