import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { type Config, iceServersFor } from "./config.js";
import { createRequestHandler } from "./http/routes.js";
import { createLogger } from "./observability/logger.js";
import { MemoryRooms } from "./rooms/memory.js";
import type { DeliverLocal, Rooms } from "./rooms/rooms.js";
import type { SignalingContext } from "./signaling/context.js";
import { SignalingGateway } from "./signaling/gateway.js";
import { LocalPeers } from "./signaling/registry.js";

export interface SignalroomOptions {
  /** Defaults to a pino logger at `config.logLevel`. */
  readonly logger?: Logger;
  /** Peer id source; defaults to 128 random bits. Tests inject their own. */
  readonly createPeerId?: () => string;
  /**
   * Builds the room store around this process's local delivery; defaults
   * to {@link MemoryRooms}. The seam for other implementations.
   */
  readonly createRooms?: (deliverLocal: DeliverLocal) => Rooms;
}

/** A running server: the composition root's product. */
export interface Signalroom {
  /** `http://host:port` once listening. */
  readonly url: string;
  readonly port: number;
  readonly rooms: Rooms;
  readonly logger: Logger;
  /** Open WebSocket connections. */
  connections(): number;
  /** Closes every socket (1012 by default), then the HTTP server. */
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
  const peers = new LocalPeers();
  const rooms: Rooms = options.createRooms
    ? options.createRooms(peers.deliver)
    : new MemoryRooms(peers.deliver);
  const ctx: SignalingContext = {
    rooms,
    logger,
    maxPeers: config.maxPeers,
    iceServers: () => iceServersFor(config),
  };
  const gateway = new SignalingGateway(ctx, {
    maxMessageBytes: config.maxMessageBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    peers,
    ...(options.createPeerId ? { createPeerId: options.createPeerId } : {}),
  });
  const webRoot = resolveWebRoot(config.webRoot);
  if (webRoot === null && config.webRoot !== "") {
    logger.warn({ webRoot: config.webRoot }, "web app not found; run `npm run build`");
  }
  const startedAt = Date.now();
  const server: Server = createServer(
    createRequestHandler({
      webRoot,
      iceServers: () => iceServersFor(config),
      health: async () => ({
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        connections: gateway.connections,
        ...(await rooms.stats()),
      }),
    }),
  );
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
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  logger.info({ url, maxPeers: config.maxPeers }, `Signalroom listening on ${url}`);

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    rooms,
    logger,
    connections: () => gateway.connections,
    close() {
      closing ??= (async () => {
        await gateway.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
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
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [configured, join(here, "..", "web"), join(here, "..", "..", "dist", "web")];
  for (const dir of candidates) {
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return null;
}
