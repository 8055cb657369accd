import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { encode } from "../protocol/index.js";
import { iceServersFor } from "./auth/turn-credentials.js";
import { joinCluster } from "./cluster/index.js";
import { authEnabled, type Config, ConfigError, redactedConfig } from "./config.js";
import { createAdminHandler } from "./http/admin.js";
import { clientAddressResolver } from "./http/client-address.js";
import { iceServersReply, OPEN_TURN_TTL_SECONDS } from "./http/ice-servers.js";
import { requestUrl } from "./http/request-url.js";
import { createRequestHandler, type MetricsEndpoint, serveMetrics } from "./http/routes.js";
import { AddressLimiter } from "./limits/address-limiter.js";
import { ConnectionCounter } from "./limits/connection-counter.js";
import { MessagePolicies } from "./limits/message-limiter.js";
import { type Clock, monotonicClock } from "./limits/token-bucket.js";
import { createLogger } from "./observability/logger.js";
import { Metrics } from "./observability/metrics.js";
import { preflight } from "./preflight.js";
import { MemoryRooms } from "./rooms/memory.js";
import type { RoomEvent, Rooms, RoomsOptions } from "./rooms/rooms.js";
import type { SignalingContext } from "./signaling/context.js";
import { SignalingGateway } from "./signaling/gateway.js";
import { LocalSeats } from "./signaling/local-seats.js";
import { type WebhookResult, WebhookSender } from "./webhooks/webhook-sender.js";

/** Refused resumes an address may have at once, before RESUME_FAILURES_PER_MINUTE applies. */
const RESUME_FAILURE_BURST = 10;
/** Joins a connection may make at once, before JOIN_RATE_PER_MINUTE applies. */
const JOIN_BURST = 10;
/** Admin API requests per minute per address, and at once. */
const ADMIN_PER_MINUTE = 120;
const ADMIN_BURST = 30;
/** `/api/ice-servers` requests an address may make at once, before the rate applies. */
const ICE_SERVERS_BURST = 10;

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
  /** `http://host:port` of the METRICS_PORT listener, if there is one. */
  readonly metricsUrl: string | null;
  /** Open WebSocket connections. */
  connections(): number;
  /** Members with a socket on this process. */
  seated(): number;
  /**
   * Client addresses the per-address tables hold: open connections
   * (MAX_CONNECTIONS_PER_IP), refused resumes and `/api/ice-servers`
   * requests. Bounded; for leak checks and monitoring.
   */
  addresses(): { connections: number; resumeFailures: number; iceServers: number };
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
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat);
  // TRUST_PROXY, the token key, the TLS files and WEB_ROOT, checked before anything starts.
  const { verifier, tlsFiles, webRoot } = preflight(config);
  // Without auth anyone may have credentials: what they get stops being useful soon.
  const turnTtl = authEnabled(config)
    ? config.turnTtlSeconds
    : Math.min(config.turnTtlSeconds, OPEN_TURN_TTL_SECONDS);
  const clock = options.clock ?? monotonicClock;
  const seats = new LocalSeats();
  // Before the store: a cluster node may expire members as soon as it joins.
  let countWebhook: (result: WebhookResult) => void = () => {};
  const webhooks =
    config.webhookUrl !== undefined && config.webhookSecret !== undefined
      ? new WebhookSender({
          url: config.webhookUrl,
          secret: config.webhookSecret,
          logger,
          count: (result) => countWebhook(result),
        })
      : null;
  const roomsOptions: RoomsOptions = {
    ...(webhooks ? { events: (event: RoomEvent) => webhooks.send(event) } : {}),
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
  const metrics = new Metrics({
    connections: () => gateway.connections,
    stats: () => rooms.stats(),
    ...(cluster ? { redis: () => cluster.node.state() } : {}),
  });
  countWebhook = (result) => metrics.webhook(result);
  const ctx: SignalingContext = {
    metrics,
    rooms,
    seats,
    graceMs: config.resumeGraceMs,
    resumeFailures: new AddressLimiter(config.resumeFailuresPerMinute, RESUME_FAILURE_BURST, clock),
    logger,
    maxPeers: config.maxPeers,
    maxRoomCapacity: config.maxRoomCapacity,
    verifier,
    iceServers: (userId) => iceServersFor(config, userId, Date.now(), turnTtl),
    clock,
    limits: {
      messages: new MessagePolicies(
        {
          perSecond: config.rateLimitPerSecond,
          burst: config.rateLimitBurst,
          bytesPerSecond: config.rateLimitBytesPerSecond,
          maxFrameBytes: config.maxMessageBytes,
          closeAfter: config.rateLimitCloseAfter,
          joinsPerMinute: config.joinsPerMinute,
          joinBurst: JOIN_BURST,
        },
        clock,
      ),
      maxBufferedBytes: config.maxBufferedBytes,
      joinTimeoutMs: config.joinTimeoutMs,
    },
  };
  const clientAddress = clientAddressResolver(config.trustProxy);
  const connectionsPerIp = new ConnectionCounter(config.maxConnectionsPerIp);
  const gateway = new SignalingGateway(ctx, {
    maxMessageBytes: config.maxMessageBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    allowedOrigins: config.allowedOrigins,
    connectionsPerIp,
    maxConnections: config.maxConnections,
    clientAddress,
    createPeerId: options.createPeerId,
  });
  seats.onFenced((reason) => gateway.fence(reason));
  if (webRoot === null && config.webRoot !== "") {
    logger.warn({ webRoot: config.webRoot }, "web app not found; run `npm run build`");
  }
  const tls = tlsFiles !== null;
  const metricsEndpoint: MetricsEndpoint = {
    token: config.metricsToken,
    logger,
    scrape: () => metrics.scrape(),
  };
  // Off the public port when asked: only /metrics, on its own address.
  const metricsServer =
    config.metricsPort === undefined
      ? null
      : createHttpServer((req, res) => {
          if (requestUrl(req.url)?.pathname === "/metrics") serveMetrics(req, res, metricsEndpoint);
          else {
            res.writeHead(404, { "Content-Type": "application/json; charset=utf-8" });
            res.end('{"error":"not found"}');
          }
        });
  const iceServersLimiter = new AddressLimiter(
    config.iceServersPerMinute,
    ICE_SERVERS_BURST,
    clock,
  );
  const startedAt = Date.now();
  let draining = false;
  const handler: RequestListener = createRequestHandler({
    webRoot,
    tls,
    logger,
    iceServers: (req, token) => {
      const address = clientAddress(req);
      if (!iceServersLimiter.take(address)) {
        metrics.limit("ice-servers");
        return Promise.resolve({
          status: 429,
          body: { error: "rate-limited", message: "too many requests; slow down" },
          headers: { "Retry-After": String(Math.ceil(60 / config.iceServersPerMinute)) },
        });
      }
      return iceServersReply(config, verifier, token, logger);
    },
    health: async () => ({
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      ...(cluster ? { node: cluster.node.name, redis: cluster.node.state() } : {}),
      connections: gateway.connections,
      // Cluster-wide counts come from Redis: without it, the node still
      // says who it is and that Redis is down.
      ...(await (cluster ? rooms.stats().catch(() => ({})) : rooms.stats())),
    }),
    ready: () => !draining && rooms.ready(),
    metrics: config.metricsPort === undefined ? metricsEndpoint : null,
    admin:
      config.adminToken === undefined
        ? null
        : createAdminHandler({
            token: config.adminToken,
            rooms,
            limiter: new AddressLimiter(ADMIN_PER_MINUTE, ADMIN_BURST, clock),
            clientAddress,
            logger,
          }),
  });
  const server: Server = tlsFiles
    ? createHttpsServer(tlsFiles, handler)
    : createHttpServer(handler);
  server.on("upgrade", gateway.handleUpgrade);
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  // Nothing may outlive a failed start: the heartbeat, the listener, the store, Redis.
  const abandon = async () => {
    await gateway.close(0);
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rooms.close();
    webhooks?.close();
  };
  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    await abandon();
    throw listenError(error, config);
  }
  if (metricsServer) {
    try {
      await listen(metricsServer, config.metricsPort ?? 0, config.metricsHost);
    } catch (error) {
      await abandon();
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        `METRICS_PORT / --metrics-port: cannot listen on ${config.metricsHost}:${config.metricsPort} (${code ?? (error as Error).message})`,
      );
    }
  }
  const { port } = server.address() as AddressInfo;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `${tls ? "https" : "http"}://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  logger.debug({ config: redactedConfig(config) }, "configuration");
  logger.info(
    { url, maxPeers: config.maxPeers, auth: authEnabled(config), turn: config.turnUrls.length > 0 },
    `Signalroom listening on ${url}`,
  );
  for (const warning of configWarnings(config)) logger.warn(warning);

  let closing: Promise<void> | null = null;
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined;
  return {
    url,
    port,
    metricsUrl: metricsAddress
      ? `http://${metricsAddress.family === "IPv6" ? `[${metricsAddress.address}]` : metricsAddress.address}:${metricsAddress.port}`
      : null,
    rooms,
    logger,
    connections: () => gateway.connections,
    seated: () => seats.size,
    addresses: () => ({
      connections: connectionsPerIp.addresses,
      resumeFailures: ctx.resumeFailures.size,
      iceServers: iceServersLimiter.size,
    }),
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
        webhooks?.close();
        if (metricsServer) {
          const gone = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
          metricsServer.closeAllConnections();
          await gone;
        }
        await rooms.close();
      })();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * What is allowed but unwise, said once at start. TURN without auth hands
 * relay credentials to anyone who can reach the server: an open relay for
 * whoever finds it, paid by the operator.
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.turnUrls.length > 0 && !authEnabled(config)) {
    warnings.push(
      "TURN without auth: anyone who can reach this server gets TURN credentials (an open relay); set AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL",
    );
  }
  if (config.authJwksUrl !== undefined && config.authAudience === undefined) {
    warnings.push(
      "AUTH_JWKS_URL without AUTH_AUDIENCE: tokens the identity provider issued for any other service are accepted here; set AUTH_AUDIENCE",
    );
  }
  return warnings;
}

/** A failed `listen` as the operator should read it: a ConfigError for a bad HOST. */
function listenError(error: unknown, config: Config): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return new ConfigError(`HOST / --host: cannot resolve "${config.host}"`);
  }
  if (code === "EADDRNOTAVAIL") {
    return new ConfigError(`HOST / --host: ${config.host} is not an address of this machine`);
  }
  // Not configuration errors (the same config works elsewhere), but one line each all the same.
  const where = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  if (code === "EADDRINUSE") {
    return Object.assign(new Error(`PORT / --port: ${where} is already in use`), { code });
  }
  if (code === "EACCES") {
    return Object.assign(
      new Error(
        `PORT / --port: no permission to listen on ${where} (ports below 1024 need CAP_NET_BIND_SERVICE)`,
      ),
      { code },
    );
  }
  return error;
}
