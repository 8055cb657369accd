import { ResumingClient } from "./resuming-client.js";
import type { Msg, TestClient } from "./test-client.js";

/**
 * A member that keeps talking through faults: it sends numbered messages
 * at a steady pace, reads everything, and whenever its socket closes it
 * resumes through `connect` (another node, as a load balancer would pick),
 * exactly as the protocol page says a client must.
 */
export class Participant {
  readonly client: ResumingClient;
  /** Every frame processed that is not a relayed `message`. */
  readonly others: Msg[] = [];
  /** Close codes seen, in order. */
  readonly closes: number[] = [];
  /** Resumes refused (`resume-failed`). */
  refused = 0;
  sent = 0;
  #sending: NodeJS.Timeout | null = null;
  #reading: Promise<void> | null = null;
  #stopped = false;
  private constructor(client: ResumingClient) {
    this.client = client;
  }

  /** Joins through `connect`, which also opens every socket it resumes on. */
  static async join(connect: () => Promise<TestClient>, roomId: string): Promise<Participant> {
    return new Participant(await ResumingClient.join(connect, roomId));
  }

  get peerId(): string {
    return this.client.peerId;
  }

  /** Relayed `message` payloads received, in order. */
  get received(): readonly unknown[] {
    return this.client.received;
  }

  /** Starts reading (and resuming after a close). */
  read(): void {
    this.#reading ??= this.#readLoop();
  }

  /** Sends one numbered message every `everyMs`. */
  startSending(everyMs: number): void {
    this.#sending = setInterval(() => {
      this.client.send({ type: "message", data: this.sent++ });
    }, everyMs);
  }

  stopSending(): void {
    if (this.#sending) clearInterval(this.#sending);
    this.#sending = null;
  }

  async stop(): Promise<void> {
    this.stopSending();
    this.#stopped = true;
    await this.client.socket.close();
    await this.#reading;
  }

  async #readLoop(): Promise<void> {
    let lastAck = Date.now();
    while (!this.#stopped) {
      try {
        const message = await this.client.next(60_000);
        if (message.type !== "message") this.others.push(message);
        if (Date.now() - lastAck > 500) {
          lastAck = Date.now();
          this.client.ack();
        }
      } catch (error) {
        if (this.#stopped) return;
        if (this.client.socket.isOpen) throw error;
        this.closes.push((await this.client.socket.closed()).code);
        await this.#resume();
      }
    }
  }

  async #resume(): Promise<void> {
    for (let attempt = 0; attempt < 100 && !this.#stopped; attempt++) {
      try {
        const answer = await this.client.resume();
        if (answer.type === "resumed") return;
        this.refused++;
        throw new Error(`resume refused: ${JSON.stringify(answer)}`);
      } catch (error) {
        if (this.refused > 0) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}
