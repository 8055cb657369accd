import { MemoryRooms } from "../../src/server/rooms/memory.js";
import type {
  DeliverResult,
  DropOutcome,
  JoinOutcome,
  JoinRequest,
  KickFrames,
  KickOutcome,
  LocalDelivery,
  LockFrames,
  LockOutcome,
  Numbered,
  ReportOutcome,
  ResumeOutcome,
  ResumeRequest,
  RoomsOptions,
  Seat,
} from "../../src/server/rooms/rooms.js";

/** One turn of the event loop: everything else that is ready runs first. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The memory store, behaving like a store across a network: every
 * operation waits a turn before and after its atomic step, and frames for
 * other sockets arrive a turn later than the operation that sent them
 * (in order, as from one pub/sub connection). Whatever a handler composes
 * out of several calls, or assumes about when deliveries land, breaks
 * here the way it would against Redis.
 */
export class YieldingMemoryRooms extends MemoryRooms {
  constructor(opts: RoomsOptions) {
    super({ ...opts, delivery: deferred(opts.delivery) });
  }

  override async join(req: JoinRequest): Promise<JoinOutcome> {
    return step(() => this.joinNow(req));
  }
  override async leave(seat: Seat, received: number, peerLeft: string): Promise<boolean> {
    return step(() => this.leaveNow(seat, received, peerLeft));
  }
  override async drop(seat: Seat, received: number, peerLeft: string): Promise<DropOutcome> {
    return step(() => this.dropNow(seat, received, peerLeft));
  }
  override async relay(
    seat: Seat,
    received: number,
    frame: string,
    to: string | undefined,
  ): Promise<DeliverResult> {
    return step(() => this.relayNow(seat, received, frame, to));
  }
  override async reply(seat: Seat, received: number, frame: string): Promise<Numbered | null> {
    return step(() => this.replyNow(seat, received, frame));
  }
  override async kick(
    seat: Seat,
    received: number,
    target: string,
    frames: KickFrames,
  ): Promise<KickOutcome> {
    return step(() => this.kickNow(seat, received, target, frames));
  }
  override async setLocked(
    seat: Seat,
    received: number,
    locked: boolean,
    frames: LockFrames,
  ): Promise<LockOutcome> {
    return step(() => this.setLockedNow(seat, received, locked, frames));
  }
  override async report(
    seat: Seat,
    received: number,
    peerId: string,
    reply: string,
  ): Promise<ReportOutcome> {
    return step(() => this.reportNow(seat, received, peerId, reply));
  }
  override async ack(seat: Seat, received: number, seq: number): Promise<boolean> {
    return step(() => this.ackNow(seat, received, seq));
  }
  override async resume(req: ResumeRequest): Promise<ResumeOutcome> {
    return step(() => this.resumeNow(req));
  }
  override async framesAfter(seat: Seat, seq: number): Promise<readonly Numbered[] | null> {
    return step(() => this.framesAfterNow(seat, seq));
  }
}

async function step<T>(atomic: () => T): Promise<T> {
  await turn();
  const result = atomic();
  await turn();
  return result;
}

/** Hands deliveries over a turn later, in the order they were made. */
function deferred(delivery: LocalDelivery): LocalDelivery {
  const queue: (() => void)[] = [];
  const flush = () => {
    for (const task of queue.splice(0)) task();
  };
  const later = (task: () => void) => {
    if (queue.push(task) === 1) setImmediate(flush);
  };
  return {
    deliver: (peerId, gen, seq, frame) => later(() => delivery.deliver(peerId, gen, seq, frame)),
    replaced: (peerId, gen) => later(() => delivery.replaced(peerId, gen)),
    fenced: (reason) => delivery.fenced(reason),
    resync: () => delivery.resync(),
  };
}
