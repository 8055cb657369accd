/**
 * A window's first frames are kept as the strings they are (every
 * recipient of a broadcast shares one); past this many, frames are copied
 * into byte slabs. An idle member holds a frame or two (its `ready`, a
 * `peer-joined`): strings cost it nothing more. A member in a busy call
 * holds a second of traffic until its client acks, and those strings were
 * most of what the garbage collector found alive and had to copy and then
 * promote; bytes in a slab are outside the heap it walks.
 */
const STRING_FRAMES = 4;
/**
 * Slab sizes, one class each, so that any window can fill a slab another
 * freed. A window's first slab is the smallest, and each next one twice
 * the last, up to the largest: most members hold a few frames past the
 * strings for a moment (a call being set up trickles a few dozen ICE
 * candidates), and a large slab each would be several times what they
 * hold; a busy call soon fills the large ones. So a window's slabs are at
 * most about twice its frames, or a large slab more; a frame larger than
 * the largest gets a slab of its own size, never reused.
 */
const SLAB_SIZES = [2 * 1024, 4 * 1024, 8 * 1024, 16 * 1024] as const;
const LARGEST_SLAB = SLAB_SIZES[3];
/**
 * Slabs no window holds any more, by size, for the next window to fill. A
 * busy call frees slabs about as fast as it needs them (its window empties
 * at most acks): without reuse, each was memory outside the heap that only
 * a full collection gave back, and V8 ran full collections to do so.
 * Bounded (512 KB of each smaller size, 1 MB of the largest): what a burst
 * frees beyond that goes back to the system.
 */
const spareSlabs: Buffer[][] = SLAB_SIZES.map(() => []);
const MAX_SPARE = SLAB_SIZES.map((size) => (size === LARGEST_SLAB ? 1024 : 512) * (1024 / size));

/** The next slab of a window whose last slab held `previous` bytes (0: none), for a frame of `bytes`. */
function newSlab(previous: number, bytes: number): Buffer {
  const wanted = Math.max(previous === 0 ? 0 : Math.min(previous * 2, LARGEST_SLAB), bytes);
  const size = SLAB_SIZES.findIndex((s) => s >= wanted);
  // Never read past what was written, so a slab need not be zeroed.
  if (size === -1) return Buffer.allocUnsafeSlow(bytes);
  return spareSlabs[size]?.pop() ?? Buffer.allocUnsafeSlow(SLAB_SIZES[size] as number);
}

function freeSlab(slab: Buffer): void {
  const size = SLAB_SIZES.indexOf(slab.length as (typeof SLAB_SIZES)[number]);
  const spare = spareSlabs[size];
  if (spare !== undefined && spare.length < (MAX_SPARE[size] as number)) spare.push(slab);
}

/**
 * The frames sent to one member that its client has not acknowledged, for
 * replay on `resume`. Frames are numbered consecutively, so the window is a
 * run `first .. last` and stores only the frames themselves, without their
 * `seq` (added when a frame is written). Bounded by count and by bytes;
 * past either bound the oldest frames go, and a resume that needs them is
 * refused.
 *
 * Frames are held oldest first in one array: a string takes one slot (its
 * size is measured again when it goes, which costs less than a slot more
 * for every idle member); a frame in a slab takes three: the slab, its
 * start and its end. Strings come only before the first slab (a window
 * goes back to strings only once it is empty), and slabs are filled one
 * after the other, so a slab's frames are next to each other: when the
 * oldest of them goes and the next frame is in another slab, the slab is
 * free. Nothing outside the window sees a slab's bytes (`since` copies
 * them out), so a free slab can be filled again.
 * Every frame is well-formed text (read as UTF-8 by `ws`, or built by
 * `JSON.stringify`), so its bytes decode back to the same string.
 */
export class ReplayWindow {
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  #entries: (string | Buffer | number)[] = [];
  /** Index of the oldest live entry (compacted now and then). */
  #head = 0;
  #size = 0;
  /** `seq` of the oldest frame held (last + 1 when empty). */
  #first = 1;
  /** `seq` of the newest frame sent (0: none yet). */
  #last = 0;
  #bytes = 0;
  /** The slab new frames are copied into, and how much of it is used. */
  #slab: Buffer | null = null;
  #used = 0;

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
    return this.#size;
  }

  /** Bytes held (UTF-8 length of the frames). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Numbers `frame`, keeps it, and returns its `seq`. */
  push(frame: string): number {
    const seq = ++this.#last;
    // UTF-8 is never shorter than the UTF-16 length: such a frame could
    // not be kept anyway, and everything before it would go to make room.
    if (frame.length > this.#maxBytes) {
      while (this.#size > 0) this.#dropOldest();
      this.#first = seq + 1;
      return seq;
    }
    if (this.#slab === null && this.#size < STRING_FRAMES) {
      // An exact-size copy: `push` would grow the array to 17 slots, for
      // the frame or two an idle member holds (about 120 B more each).
      const held = this.#entries;
      this.#entries = (this.#head === 0 ? held : held.slice(this.#head)).concat(frame);
      this.#head = 0;
      this.#bytes += Buffer.byteLength(frame);
    } else {
      this.#copy(frame);
    }
    this.#size++;
    while (this.#size > this.#maxFrames || this.#bytes > this.#maxBytes) this.#dropOldest();
    return seq;
  }

  /** Forgets every frame up to and including `seq`. */
  ack(seq: number): void {
    while (this.#first <= seq && this.#size > 0) this.#dropOldest();
  }

  /**
   * The frames after `lastSeq`, oldest first, with their `seq`; null when
   * some of them were dropped already, or `lastSeq` is a number we never
   * sent.
   */
  since(lastSeq: number): { readonly seq: number; readonly frame: string }[] | null {
    if (lastSeq > this.#last || lastSeq + 1 < this.#first) return null;
    const out: { seq: number; frame: string }[] = [];
    const entries = this.#entries;
    let i = this.#head;
    for (let seq = this.#first; seq <= this.#last; seq++) {
      const entry = entries[i] as string | Buffer;
      let frame: string;
      if (typeof entry === "string") {
        frame = entry;
        i++;
      } else {
        frame = entry.toString("utf8", entries[i + 1] as number, entries[i + 2] as number);
        i += 3;
      }
      if (seq > lastSeq) out.push({ seq, frame });
    }
    return out;
  }

  /** Copies `frame` to the end of the current slab, or of a new one if it does not fit. */
  #copy(frame: string): void {
    let slab = this.#slab;
    // At most 3 bytes per UTF-16 unit: measured only when that might not fit.
    if (slab === null || slab.length - this.#used < frame.length * 3) {
      const needed = Buffer.byteLength(frame);
      if (slab === null || slab.length - this.#used < needed) {
        slab = newSlab(slab === null ? 0 : slab.length, needed);
        this.#slab = slab;
        this.#used = 0;
      }
    }
    const start = this.#used;
    const end = start + slab.write(frame, start);
    this.#used = end;
    this.#entries.push(slab, start, end);
    this.#bytes += end - start;
  }

  #dropOldest(): void {
    const entries = this.#entries;
    const head = this.#head;
    const entry = entries[head] as string | Buffer;
    if (typeof entry === "string") {
      this.#bytes -= Buffer.byteLength(entry);
      entries[head] = 0;
      this.#head = head + 1;
    } else {
      this.#bytes -= (entries[head + 2] as number) - (entries[head + 1] as number);
      entries[head] = 0;
      this.#head = head + 3;
      // The slab's last frame went, and new frames go to another: free.
      if (entry !== this.#slab && entries[head + 3] !== entry) freeSlab(entry);
    }
    this.#size--;
    this.#first++;
    if (this.#size === 0) {
      // Nothing held (the usual state of an acked, quiet member): no slab
      // or array kept for it.
      if (this.#slab !== null) freeSlab(this.#slab);
      this.#entries = [];
      this.#head = 0;
      this.#slab = null;
      this.#used = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= entries.length) {
      // Compact once the dead prefix is as long as what is live: amortised O(1).
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** A frame as written for one member: the shared frame with its `seq` last. */
export function withSeq(frame: string, seq: number): string {
  // Every frame is a JSON object we built or relayed: its last character is `}`.
  return `${frame.slice(0, -1)},"seq":${seq}}`;
}
