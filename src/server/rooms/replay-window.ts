/**
 * The frames sent to one member that its client has not acknowledged, for
 * replay on `resume`. Frames are numbered consecutively, so the window is a
 * run `first .. last` and stores only the frames themselves: the strings
 * that every recipient of a broadcast shares, never a copy per member
 * (`seq` is added when a frame is written). Bounded by count and by bytes;
 * past either bound the oldest frames go, and a resume that needs them is
 * refused.
 */
export class ReplayWindow {
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  // Sizes are not kept beside the frames: measured again when a frame goes,
  // that costs less than an array more for every member, idle ones too.
  #frames: string[] = [];
  /** Index of the oldest live entry in the arrays (compacted now and then). */
  #head = 0;
  /** `seq` of the oldest frame held (last + 1 when empty). */
  #first = 1;
  /** `seq` of the newest frame sent (0: none yet). */
  #last = 0;
  #bytes = 0;

  constructor(maxFrames: number, maxBytes: number) {
    this.#maxFrames = maxFrames;
    this.#maxBytes = maxBytes;
  }

  /** `seq` of the last frame numbered so far. */
  get last(): number {
    return this.#last;
  }

  /** Frames held. */
  get size(): number {
    return this.#frames.length - this.#head;
  }

  /** Bytes held (UTF-8 length of the frames). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Numbers `frame` (`bytes`: its UTF-8 length), keeps it, and returns its `seq`. */
  push(frame: string, bytes: number): number {
    const seq = ++this.#last;
    this.#frames.push(frame);
    this.#bytes += bytes;
    while (this.size > this.#maxFrames || (this.#bytes > this.#maxBytes && this.size > 0)) {
      this.#dropOldest();
    }
    return seq;
  }

  /** Forgets every frame up to and including `seq`. */
  ack(seq: number): void {
    while (this.#first <= seq && this.size > 0) this.#dropOldest();
  }

  /**
   * The frames after `lastSeq`, oldest first, with their `seq`; null when
   * some of them were dropped already, or `lastSeq` is a number we never
   * sent.
   */
  since(lastSeq: number): { readonly seq: number; readonly frame: string }[] | null {
    if (lastSeq > this.#last || lastSeq + 1 < this.#first) return null;
    const out: { seq: number; frame: string }[] = [];
    for (let seq = lastSeq + 1; seq <= this.#last; seq++) {
      out.push({ seq, frame: this.#frames[this.#head + seq - this.#first] as string });
    }
    return out;
  }

  #dropOldest(): void {
    this.#bytes -= Buffer.byteLength(this.#frames[this.#head] as string);
    this.#frames[this.#head] = "";
    this.#head++;
    this.#first++;
    // Compact once the dead prefix is as long as what is live: amortised O(1).
    if (this.#head >= 64 && this.#head * 2 >= this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** A frame as written for one member: the shared frame with its `seq` last. */
export function withSeq(frame: string, seq: number): string {
  // Every frame is a JSON object we built or relayed: its last character is `}`.
  return `${frame.slice(0, -1)},"seq":${seq}}`;
}
