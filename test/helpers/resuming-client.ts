import assert from "node:assert/strict";
import type { CloseInfo, Msg, TestClient } from "./test-client.js";

/**
 * The smallest client that resumes, written from the protocol page alone
 * (not the SDK), so that server tests check the server's side of the
 * contract: it counts the frames it sent since `join`, keeps them, and
 * after `resumed` re-sends exactly those the server had not read; it
 * drops frames whose `seq` it has processed and acks what it processed.
 */
export class ResumingClient {
  socket: TestClient;
  peerId = "";
  resumeToken = "";
  roomId = "";
  /** Highest `seq` processed. */
  lastSeq = 0;
  /** Every frame sent since `join` (index i is the (i+1)-th), for re-sending. */
  readonly #sent: string[] = [];
  /** Relayed `message` payloads received, in order, exactly as processed. */
  readonly received: unknown[] = [];
  /** The `from` (sender's peer id) of each of {@link received}, index for index. */
  readonly receivedFrom: unknown[] = [];
  /** Frames dropped as duplicates (seq already processed). */
  duplicates = 0;
  readonly #connect: () => Promise<TestClient>;
  #resuming = false;

  private constructor(socket: TestClient, connect: () => Promise<TestClient>) {
    this.socket = socket;
    this.#connect = connect;
  }

  static async join(connect: () => Promise<TestClient>, roomId: string): Promise<ResumingClient> {
    const socket = await connect();
    const client = new ResumingClient(socket, connect);
    socket.send({ type: "join", roomId });
    const joined = await socket.nextNumbered("joined");
    client.peerId = String(joined.peerId);
    client.resumeToken = String(joined.resumeToken);
    client.roomId = roomId;
    client.lastSeq = Number(joined.seq);
    return client;
  }

  /** Sends a relay (counted and kept for a re-send). */
  send(message: object): void {
    const text = JSON.stringify(message);
    this.#sent.push(text);
    // While a resume is under way, frames wait: they go after `resumed`,
    // behind the ones the server missed, or they would overtake them.
    if (this.socket.isOpen && !this.#resuming) this.socket.sendRaw(text);
  }

  /** Acknowledges what was processed (counted like any frame). */
  ack(): void {
    this.send({ type: "ack", seq: this.lastSeq });
  }

  /**
   * Processes the next frame: drops a duplicate, records a relayed
   * `message`, and returns the frame (with its `seq`).
   */
  async next(timeoutMs?: number): Promise<Msg> {
    for (;;) {
      const message = await this.socket.nextNumbered(undefined, timeoutMs);
      if (message.type === "resumed" || typeof message.seq !== "number") return message;
      if (message.seq <= this.lastSeq) {
        this.duplicates++;
        continue;
      }
      assert.equal(message.seq, this.lastSeq + 1, `frame after ${this.lastSeq}`);
      this.lastSeq = message.seq;
      if (message.type === "message") {
        this.received.push(message.data);
        this.receivedFrom.push(message.from);
      }
      return message;
    }
  }

  /** Opens a new socket and resumes; returns `resumed` (after re-sending what the server missed). */
  async resume(): Promise<Msg> {
    this.#resuming = true;
    try {
      this.socket = await this.#connect();
      this.socket.send({
        type: "resume",
        peerId: this.peerId,
        resumeToken: this.resumeToken,
        lastSeq: this.lastSeq,
      });
      const resumed = await this.socket.next();
      if (resumed.type !== "resumed") return resumed;
      const read = Number(resumed.received);
      assert.ok(read <= this.#sent.length, `server read ${read} of ${this.#sent.length} frames`);
      this.#resuming = false;
      // What the server never read goes again, in order, and counts again.
      const missed = this.#sent.splice(read);
      for (const text of missed) this.send(JSON.parse(text) as object);
      return resumed;
    } finally {
      this.#resuming = false;
    }
  }

  /** Frames sent since `join`, as the server should count them. */
  get sentCount(): number {
    return this.#sent.length;
  }

  terminate(): Promise<CloseInfo> {
    return this.socket.terminate();
  }
}
