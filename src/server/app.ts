import { existsSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { encode } from "../protocol/index.js";
import { createTokenVerifier } from "./auth/join-tokens.js";
import { iceServersFor } from "./auth/turn-credentials.js";
import { joinCluster } from "./cluster/index.js";
import {
  authEnabled,
  type Config,
  ConfigError,
  DEFAULT_WEB_ROOT,
  redactedConfig,
} from "./config.js";
import { checkTrustProxy, clientAddressResolver } from "./http/client-address.js";
import { iceServersReply } from "./http/ice-servers.js";
import { createRequestHandler } from "./http/routes.js";
import { ConnectionCounter } from "./limits/connection-counter.js";
import { FailureLimiter } from "./limits/failure-limiter.js";
import { type Clock, monotonicClock } from "./limits/token-bucket.js";
import { createLogger } from "./observability/logger.js";
import { MemoryRooms } from "./rooms/memory.js";
import type { Rooms, RoomsOptions } from "./rooms/rooms.js";
import type { SignalingContext } from "./signaling/context.js";
import { SignalingGateway } from "./signaling/gateway.js";
import { LocalSeats } from "./signaling/local-seats.js";

export interface SignalroomOptions {
  /** Defaults to a pino logger at `config.logLevel`. */
  readonly logger?: Logger;
  /** Peer id source; defaults to 128 random bits. Tests inject their own. */
  readonly createPeerId?: () => string;
  /**
   * Builds the room store around this process's local delivery; defaults
   * to {@link MemoryRooms}. The seam for other implementations.
   */
  readonly createRooms?: (options: RoomsOptions) => Rooms | Promise<Rooms>;
  /** Monotonic milliseconds for rate limits; tests inject their own. */
  readonly clock?: Clock;
}

/** A running server: the composition root's product. */
export interface Signalroom {
  /** `http(s)://host:port` once listening. */
  readonly url: string;
  readonly port: number;
  readonly rooms: Rooms;
  readonly logger: Logger;
  /** Open WebSocket connections. */
  connections(): number;
  /** Members with a socket on this process. */
  seated(): number;
  /**
   * Drains and stops: `/readyz` answers 503 and upgrades are refused at
   * once, every socket is closed with 1012 (clients reconnect and resume),
   * sockets still open after `SHUTDOWN_DRAIN_MS` are cut, then the HTTP
   * server closes.
   */
  close(): Promise<void>;
}

/**
 * Builds everything from `config`, starts listening, and resolves once the
 * port is bound. The only place that knows every part.
 */
export async function startSignalroom(
  config: Config,
  options: SignalroomOptions = {},
): Promise<Signalroom> {
  const logger = options.logger ?? createLogger(config.logLevel);
  if (config.trustProxy !== undefined) {
    const problem = checkTrustProxy(config.trustProxy);
    if (problem) throw new ConfigError(`TRUST_PROXY / --trust-proxy: ${problem}`);
  }
  const verifier = createTokenVerifier(config);
  const clock = options.clock ?? monotonicClock;
  const seats = new LocalSeats();
  const roomsOptions: RoomsOptions = {
    delivery: seats,
    graceMs: config.resumeGraceMs,
    bufferFrames: config.resumeBufferMessages,
    bufferBytes: config.resumeBufferBytes,
    expiredFrame: (peerId) => encode({ type: "peer-left", peerId, reason: "dropped" }),
  };
  const cluster =
    config.redisUrl !== undefined && !options.createRooms
      ? await joinCluster({
          ...roomsOptions,
          url: config.redisUrl,
          nodeId: config.nodeId,
          livenessMs: config.nodeLivenessMs,
          logger,
        })
      : null;
  const rooms: Rooms =
    cluster?.rooms ??
    (options.createRooms ? await options.createRooms(roomsOptions) : new MemoryRooms(roomsOptions));
  const ctx: SignalingContext = {
    rooms,
    seats,
    graceMs: config.resumeGraceMs,
    resumeFailures: new FailureLimiter(config.resumeFailuresPerMinute, clock),
    logger,
    maxPeers: config.maxPeers,
    maxRoomCapacity: config.maxRoomCapacity,
    verifier,
    iceServers: (userId) => iceServersFor(config, userId),
    clock,
    limits: {
      messages: {
        perSecond: config.rateLimitPerSecond,
        burst: config.rateLimitBurst,
        bytesPerSecond: config.rateLimitBytesPerSecond,
        maxFrameBytes: config.maxMessageBytes,
        closeAfter: config.rateLimitCloseAfter,
      },
      joinsPerMinute: config.joinsPerMinute,
      maxBufferedBytes: config.maxBufferedBytes,
      joinTimeoutMs: config.joinTimeoutMs,
    },
  };
  const gateway = new SignalingGateway(ctx, {
    maxMessageBytes: config.maxMessageBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    allowedOrigins: config.allowedOrigins,
    connectionsPerIp: new ConnectionCounter(config.maxConnectionsPerIp),
    clientAddress: clientAddressResolver(config.trustProxy),
    createPeerId: options.createPeerId,
  });
  seats.onFenced((reason) => gateway.fence(reason));
  const webRoot = resolveWebRoot(config.webRoot);
  if (webRoot === null && config.webRoot !== "") {
    logger.warn({ webRoot: config.webRoot }, "web app not found; run `npm run build`");
  }
  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined;
  const startedAt = Date.now();
  let draining = false;
  const handler: RequestListener = createRequestHandler({
    webRoot,
    tls,
    iceServers: (token) => iceServersReply(config, verifier, token, logger),
    health: async () => ({
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      ...(cluster ? { node: cluster.node.name, redis: cluster.node.state() } : {}),
      connections: gateway.connections,
      // Cluster-wide counts come from Redis: without it, the node still
      // says who it is and that Redis is down.
      ...(await (cluster ? rooms.stats().catch(() => ({})) : rooms.stats())),
    }),
    ready: () => !draining && rooms.ready(),
  });
  const server: Server =
    config.tlsCert !== undefined && config.tlsKey !== undefined
      ? createHttpsServer(
          { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) },
          handler,
        )
      : createHttpServer(handler);
  server.on("upgrade", gateway.handleUpgrade);
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `${tls ? "https" : "http"}://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  logger.debug({ config: redactedConfig(config) }, "configuration");
  logger.info(
    { url, maxPeers: config.maxPeers, auth: authEnabled(config), turn: config.turnUrls.length > 0 },
    `Signalroom listening on ${url}`,
  );

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    rooms,
    logger,
    connections: () => gateway.connections,
    seated: () => seats.size,
    close() {
      closing ??= (async () => {
        // Not ready, no new sockets; HTTP still answers (503 on /readyz)
        // while the sockets we have are told to reconnect elsewhere.
        draining = true;
        logger.info({ drainMs: config.shutdownDrainMs }, "draining");
        await gateway.close(config.shutdownDrainMs);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await rooms.close();
      })();
      return closing;
    },
  };
}

/**
 * The configured web root, or, for the default, the bundled app next to
 * the compiled server (`dist/web`) whether running from `dist/` or `src/`.
 */
function resolveWebRoot(configured: string): string | null {
  if (configured === "") return null;
  // Running from src/ (tsx), the bundled app is the one built into dist/.
  // A folder the operator chose is never swapped for another.
  const candidates =
    configured === DEFAULT_WEB_ROOT
      ? [configured, join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "web")]
      : [configured];
  return candidates.find((dir) => existsSync(join(dir, "index.html"))) ?? null;
}
