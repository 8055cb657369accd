import { BackoffPolicy, type ReconnectPolicy } from "./reconnect-policy.js";
import type { WebSocketConstructor } from "./signaling-types.js";

/** Options of `SignalingClient`; only `url` is required. */
export interface SignalingClientOptions {
  /** `ws://` or `wss://` URL of the server (path `/` or `/ws`). */
  url: string;
  /** WebSocket implementation; defaults to the global one (browsers, Node 22+). */
  WebSocket?: WebSocketConstructor;
  /**
   * How long opening a socket, `join`, `leave`, `ping`, a keep-alive ping
   * and a resume wait for an answer, in ms. Default 10000.
   */
  timeoutMs?: number;
  /**
   * Interval of keep-alive pings, in ms; 0 disables. They keep idle
   * connections open through proxies and NATs, and a ping unanswered
   * within `timeoutMs` declares the socket dead, so with the defaults a
   * dead connection is noticed within 25 s. Default 15000.
   */
  keepAliveMs?: number;
  /**
   * When and whether to reconnect after the connection is lost; `false`
   * never reconnects. Default `new BackoffPolicy()` (full-jitter back-off,
   * 500 ms to 10 s, giving up after 5 minutes).
   */
  reconnect?: ReconnectPolicy | false;
  /** Least time between two `ack`s, in ms. Default 1000. */
  ackIntervalMs?: number;
  /** Messages `send()` may queue while reconnecting; one more throws `queue-full`. Default 256. */
  maxQueued?: number;
  /** Sent frames kept to re-send those the server missed, when resuming. Default 512. */
  maxResend?: number;
}

/** {@link SignalingClientOptions} with every default filled in. */
export type ResolvedOptions = Required<Omit<SignalingClientOptions, "WebSocket">> & {
  readonly WebSocket: WebSocketConstructor | undefined;
};

/** Fills in the defaults documented on {@link SignalingClientOptions}. */
export function withDefaults(options: SignalingClientOptions): ResolvedOptions {
  return {
    url: options.url,
    WebSocket: options.WebSocket,
    timeoutMs: options.timeoutMs ?? 10_000,
    keepAliveMs: options.keepAliveMs ?? 15_000,
    reconnect: options.reconnect ?? new BackoffPolicy(),
    ackIntervalMs: options.ackIntervalMs ?? 1000,
    maxQueued: options.maxQueued ?? 256,
    maxResend: options.maxResend ?? 512,
  };
}
