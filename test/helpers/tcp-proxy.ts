import { createServer, type Server, Socket } from "node:net";

/** One client connection through the proxy and its upstream half. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes stop flowing both ways; both ends stay open (a dead network). */
  blackholed: boolean;
}

/**
 * A TCP proxy owned by a test, between clients and the server on
 * 127.0.0.1, that can fail the network the ways real networks fail:
 * - `sever()`: every connection is cut at once, both ways, with no
 *   WebSocket close frame (a reset; the Wi-Fi to LTE handover);
 * - `blackhole()`: bytes stop flowing but nobody is told (a laptop lid, a
 *   NAT that forgot the mapping); only a heartbeat can find it;
 * - `refuse(true)`: new connections are cut as they arrive (the network
 *   is still down), until `refuse(false)`.
 * Real sockets everywhere: the server and client see exactly what a
 * broken network shows them.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #links = new Set<Link>();
  readonly #target: { host: string; port: number };
  #refusing = false;
  /** Connections accepted so far (refused ones included). */
  accepted = 0;

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `targetPort` there. */
  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, { host: targetHost, port: targetPort });
    server.on("connection", (client) => proxy.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("proxy not listening");
    return address.port;
  }

  /** `ws://127.0.0.1:<port><path>` through the proxy. */
  wsUrl(path = "/ws"): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** `http://127.0.0.1:<port>` through the proxy. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Open connections through the proxy. */
  get connections(): number {
    return this.#links.size;
  }

  /** Cuts every open connection both ways, without any close frame. */
  sever(): void {
    for (const link of [...this.#links]) this.#cut(link);
  }

  /** Stops every open connection's bytes, both ways, without telling either end. */
  blackhole(): void {
    for (const link of this.#links) {
      link.blackholed = true;
      link.client.pause();
      link.upstream.pause();
    }
  }

  /** While on, new connections are cut as soon as they arrive. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Cuts everything and stops listening. */
  async close(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    if (this.#refusing) {
      reset(client);
      return;
    }
    const upstream = new Socket();
    const link: Link = { client, upstream, blackholed: false };
    this.#links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Data only flows while the link is healthy; a blackholed link drops it.
    client.on("data", (chunk) => {
      if (!link.blackholed) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!link.blackholed) client.write(chunk);
    });
    // A FIN is passed on as a FIN (a clean close stays clean); an error is a reset.
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    const cut = () => this.#cut(link);
    client.on("error", cut);
    upstream.on("error", cut);
    const closed = () => {
      if (client.destroyed && upstream.destroyed) this.#links.delete(link);
      else if (client.destroyed || upstream.destroyed) {
        // One side is gone; let the other finish writing what it has, then go.
        if (!client.destroyed) client.end();
        if (!upstream.destroyed) upstream.end();
      }
    };
    client.on("close", closed);
    upstream.on("close", closed);
    upstream.connect(this.#target.port, this.#target.host);
  }

  /** A reset on both sides (see reset): neither end gets a close frame, nor a FIN it was not already sent. */
  #cut(link: Link): void {
    if (!this.#links.delete(link)) return;
    reset(link.client);
    reset(link.upstream);
  }
}

/**
 * Ends `socket` with a TCP reset where one can be sent. A pending connect is
 * just destroyed. So is a socket that has ended its side already: while its
 * FIN is in flight libuv refuses the reset (EINVAL), and Node then drops the
 * handle without closing it, so the test process spins at 100% CPU on exit
 * waiting for that handle (seen as a CI run that never finished).
 */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
