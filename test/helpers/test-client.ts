import assert from "node:assert/strict";
import WebSocket from "ws";

/** A message as the server sent it: a JSON object with a string `type`. */
export interface Msg {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** How a socket closed, as seen by the client. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** The `seq` the server appends as the last field of a numbered frame. */
const SEQ_SUFFIX = /,"seq":\d+\}$/;

/** How long `next` waits before failing, in ms. */
export const DEFAULT_TIMEOUT_MS = 3000;

/**
 * How long `closed`, `close` and `terminate` wait for the socket to be gone
 * before failing, in ms: long enough for a loaded machine, short enough
 * that a socket that never closes fails the test instead of hanging it.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

interface Waiter {
  resolve(text: string): void;
  reject(error: Error): void;
}

/**
 * A real `ws` client for tests. Every received text frame is queued, and
 * `next` hands them out one at a time in arrival order, failing loudly
 * (with what it waited for) when nothing arrives in time. Tests wait for
 * messages and events, never for time.
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly #inbox: string[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #closed: Promise<CloseInfo>;
  #closeInfo: CloseInfo | null = null;
  /** Errors the socket reported (a protocol violation by the server would show up here). */
  readonly errors: Error[] = [];
  /** Binary frames received; the server never sends any. */
  binaryFrames = 0;
  /** `seq` of the last numbered frame received (0: none yet). */
  lastSeq = 0;
  /** Frames whose `seq` broke the numbering (not 1 on `joined`, not last + 1 otherwise). */
  readonly seqViolations: string[] = [];
  /** The last `joined` received (with its resume token), if any. */
  joinedMessage: Msg | null = null;
  /** Frames sent since the last `join` frame: what the server counts as `received`. */
  framesSent = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.binaryFrames++;
        return;
      }
      const text = Buffer.isBuffer(data)
        ? data.toString("utf8")
        : Array.isArray(data)
          ? Buffer.concat(data).toString("utf8")
          : Buffer.from(data).toString("utf8");
      this.#checkSeq(text);
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(text);
      else this.#inbox.push(text);
    });
    ws.on("error", (error) => this.errors.push(error));
    this.#closed = new Promise<CloseInfo>((resolve) => {
      ws.once("close", (code, reason) => {
        const info = { code, reason: reason.toString("utf8") };
        this.#closeInfo = info;
        for (const waiter of this.#waiters.splice(0)) {
          waiter.reject(new Error(`socket closed (${code} ${info.reason}) while waiting`));
        }
        resolve(info);
      });
    });
  }

  /** Opens a socket to `url` and resolves once it is open. */
  static connect(
    url: string,
    opts: { timeoutMs?: number; ws?: WebSocket.ClientOptions } = {},
  ): Promise<TestClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ws = new WebSocket(url, opts.ws);
    const client = new TestClient(ws);
    return new Promise<TestClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`could not connect to ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once("open", () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /**
   * Every frame to a room member is numbered: 1 on `joined`, then +1. The
   * first numbered frame on a socket that resumed may start anywhere.
   * (`resumed` carries the last number sent, not a number of its own.)
   */
  #checkSeq(text: string): void {
    let value: { type?: unknown; seq?: unknown };
    try {
      value = JSON.parse(text) as typeof value;
    } catch {
      return;
    }
    if (typeof value !== "object" || value === null || value.type === "resumed") return;
    if (value.type === "joined") this.joinedMessage = value as Msg;
    if (!Object.hasOwn(value, "seq")) return;
    const seq = value.seq;
    const expected = value.type === "joined" ? 1 : this.lastSeq === 0 ? seq : this.lastSeq + 1;
    if (typeof seq !== "number" || seq !== expected) {
      this.seqViolations.push(
        `seq ${String(seq)} where ${String(expected)} was due: ${text.slice(0, 200)}`,
      );
    }
    if (typeof seq === "number") this.lastSeq = seq;
  }

  /** Whether the socket is still open. */
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Number of received messages nobody has read yet. */
  get pending(): number {
    return this.#inbox.length;
  }

  /** The peer id from the last `joined`. */
  get peerId(): string {
    return String(this.joinedMessage?.peerId ?? "");
  }

  /** Sends `message` as one JSON text frame. */
  send(message: unknown): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** Sends text (a text frame) or bytes (a binary frame unless `binary: false`). */
  sendRaw(data: string | Buffer, opts: { binary?: boolean } = {}): void {
    if (typeof data === "string" && /^\s*\{\s*"type"\s*:\s*"join"/.test(data)) this.framesSent = 0;
    else this.framesSent++;
    this.ws.send(data, { binary: opts.binary ?? typeof data !== "string" });
  }

  /**
   * The next received frame's text, in arrival order, without the `seq`
   * the server appends last (so a relayed payload can be compared with
   * what its sender wrote, byte for byte).
   */
  async nextText(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const text = await this.nextRawText(timeoutMs);
    assert.deepEqual(this.seqViolations, [], "frames numbered out of order");
    return text.replace(SEQ_SUFFIX, "}");
  }

  /** The next received frame's text exactly as it arrived. */
  nextRawText(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closeInfo) {
      const { code, reason } = this.#closeInfo;
      return Promise.reject(new Error(`socket is closed (${code} ${reason}); nothing to read`));
    }
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /**
   * The next received message, without its `seq` (the numbering is checked
   * for every frame as it arrives: a broken one fails here). With `type`,
   * it must be of that type: any other message fails the test (nothing is
   * skipped silently).
   */
  async next(type?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    const numbered = await this.nextNumbered(type, timeoutMs);
    if (numbered.type === "resumed") return numbered;
    const { seq: _seq, ...message } = numbered;
    return message as Msg;
  }

  /** Like {@link next}, with the frame's `seq` left in. */
  async nextNumbered(type?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    let text: string;
    try {
      text = await this.nextRawText(timeoutMs);
    } catch (error) {
      throw new Error(`waiting for ${type ?? "a message"}: ${(error as Error).message}`);
    }
    assert.deepEqual(this.seqViolations, [], "frames numbered out of order");
    const message = parseMessage(text);
    if (type !== undefined && message.type !== type) {
      assert.fail(`expected a "${type}" message, got ${text.slice(0, 300)}`);
    }
    return message;
  }

  /**
   * The next message of `type`, skipping only messages whose type is in
   * `skip` (for traffic that arrives at its own pace, such as `peer-left`
   * from other sockets in a stress test). Any other message fails.
   */
  async nextSkipping(
    type: string | readonly string[],
    skip: readonly string[],
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Msg> {
    const wanted = typeof type === "string" ? [type] : type;
    for (;;) {
      const message = await this.next(undefined, timeoutMs);
      if (wanted.includes(message.type)) return message;
      if (!skip.includes(message.type)) {
        assert.fail(`expected ${wanted.join(" or ")}, got ${JSON.stringify(message)}`);
      }
    }
  }

  /** The next message, which must be an `error` with this code; returns it. */
  async nextError(code: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    const message = await this.next("error", timeoutMs);
    assert.equal(message.code, code, `error code of ${JSON.stringify(message)}`);
    assert.equal(typeof message.message, "string");
    return message;
  }

  /**
   * Proves that nothing else was delivered: sends `ping` and requires the
   * very next message to be the `pong`. The server handles a socket's
   * messages in order, so anything sent to us before the ping arrives first.
   */
  async expectNothing(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    this.send({ type: "ping" });
    const message = await this.next(undefined, timeoutMs);
    assert.deepEqual(message, { type: "pong" }, "expected nothing before the pong");
    assert.equal(this.pending, 0, "nothing may follow the pong unasked");
  }

  /** Joins `roomId` and returns the `joined` message. */
  async join(roomId: unknown, extra: Record<string, unknown> = {}): Promise<Msg> {
    this.send({ type: "join", roomId, ...extra });
    return this.next("joined");
  }

  /**
   * Resolves with the close code and reason once the socket is closed;
   * rejects ("socket did not close within N ms") when it is still open
   * after `timeoutMs`.
   */
  closed(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<CloseInfo> {
    if (this.#closeInfo) return Promise.resolve(this.#closeInfo);
    return new Promise<CloseInfo>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`socket did not close within ${timeoutMs} ms`)),
        timeoutMs,
      );
      void this.#closed.then((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /**
   * Closes (cleanly) and waits for the socket to be gone. A server that
   * never answers the closing handshake within `timeoutMs` gets the TCP
   * connection dropped instead (as `ws` itself does, later), so this
   * always ends.
   */
  async close(code?: number, timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      this.ws.close(code);
    }
    try {
      return await this.closed(timeoutMs);
    } catch {
      return this.terminate();
    }
  }

  /** Drops the TCP connection without a closing handshake and waits (bounded) for the close event. */
  async terminate(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<CloseInfo> {
    this.ws.terminate();
    return this.closed(timeoutMs);
  }
}

/** Parses a server frame; it must be a JSON object with a string `type`. */
export function parseMessage(text: string): Msg {
  const value: unknown = JSON.parse(text);
  assert.ok(
    typeof value === "object" && value !== null && !Array.isArray(value),
    `not a JSON object: ${text.slice(0, 200)}`,
  );
  const type = (value as Record<string, unknown>).type;
  assert.equal(typeof type, "string", `no string type in ${text.slice(0, 200)}`);
  return value as Msg;
}
