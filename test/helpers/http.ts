import WebSocket from "ws";

/**
 * Opens a WebSocket to `url` with these extra request headers and resolves
 * with the HTTP status of the answer: 101 once it opened (it is closed again
 * at once), else the refusal's status. A refusal comes before any WebSocket
 * exists, so `ws` reports it as an unexpected response rather than a close.
 */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("unexpected-response", (req, res) => {
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("error", reject);
  });
}
