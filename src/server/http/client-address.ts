import type { IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";

/** Finds a request's client address. */
export type ClientAddressOf = (req: IncomingMessage) => string;

/**
 * Without `trustProxy` the client is the socket's peer. With it, the
 * address comes from `X-Forwarded-For`, believing only the proxies the
 * setting names: `loopback`, `uniquelocal`, CIDRs (comma-separated), or a
 * number of hops. Trusting every hop would let a client forge its address.
 */
export function clientAddressResolver(trustProxy: string | undefined): ClientAddressOf {
  const direct = (req: IncomingMessage) => req.socket.remoteAddress ?? "unknown";
  if (trustProxy === undefined) return direct;
  const hops = /^\d+$/.test(trustProxy) ? Number(trustProxy) : null;
  const trust =
    hops !== null
      ? (_address: string, index: number) => index < hops
      : proxyAddr.compile(trustProxy.split(",").map((s) => s.trim()));
  return (req) => {
    // A socket already gone has no address; proxy-addr would return undefined.
    if (req.socket.remoteAddress === undefined) return direct(req);
    try {
      return proxyAddr(req, trust);
    } catch {
      return direct(req);
    }
  };
}

/** Validates a TRUST_PROXY value at start-up; returns an error text or null. */
export function checkTrustProxy(trustProxy: string): string | null {
  if (/^\d+$/.test(trustProxy)) return null;
  try {
    proxyAddr.compile(trustProxy.split(",").map((s) => s.trim()));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
