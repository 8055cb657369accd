import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CONTENT_SECURITY_POLICY } from "../../src/server/http/routes.js";
import { selfSignedCertificate } from "../helpers/certificates.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { TestClient } from "../helpers/test-client.js";
import { eventually } from "../helpers/wait.js";

/** GET over HTTPS trusting only `ca`; resolves with status, headers and body. */
function httpsGet(
  url: string,
  ca: Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("TLS (TLS_CERT and TLS_KEY)", () => {
  let dir: string;
  let ca: Buffer;
  let server: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "signalroom-tls-"));
    const { cert, key } = selfSignedCertificate(dir);
    ca = readFileSync(cert);
    server = await startTestServer({ tlsCert: cert, tlsKey: key });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves https:// with HSTS", async () => {
    assert.match(server.app.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.wsUrl, `${server.app.url.replace(/^https/, "wss")}/ws`);
    const res = await httpsGet(`${server.app.url}/healthz`, ca);
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { status: string }).status, "ok");
    assert.equal(res.headers["strict-transport-security"], "max-age=31536000");
    assert.equal(res.headers["content-security-policy"], CONTENT_SECURITY_POLICY);
  });

  it("refuses clients that do not trust the certificate", async () => {
    await assert.rejects(httpsGet(`${server.app.url}/healthz`, Buffer.alloc(0)), {
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    });
  });

  it("accepts wss:// clients that join and relay", async () => {
    const a = await server.connect("/ws", { ca });
    const b = await server.connect("/ws", { ca });
    const aJoined = await a.join("secure");
    const bJoined = await b.join("secure");
    await b.next("ready");
    await a.next("peer-joined");
    await a.next("ready");
    b.send({ type: "offer", sdp: "v=0 over tls" });
    assert.deepEqual(await a.next(), { type: "offer", sdp: "v=0 over tls", from: bJoined.peerId });
    a.send({ type: "answer", sdp: "v=0 back" });
    assert.deepEqual(await b.next(), { type: "answer", sdp: "v=0 back", from: aJoined.peerId });
    await server.closeClients();
  });

  it("does not speak plain ws:// or http:// on the TLS port", async () => {
    const plain = server.wsUrl.replace(/^wss:/, "ws:");
    // Refused by the TLS listener itself, not by our own wait running out.
    await assert.rejects(TestClient.connect(plain, { timeoutMs: 5000 }), (error: Error) => {
      assert.doesNotMatch(error.message, /within \d+ ms/, "timed out instead of being refused");
      return true;
    });
    await assert.rejects(
      fetch(`${server.app.url.replace(/^https:/, "http:")}/healthz`),
      (error: Error) => error instanceof TypeError,
    );
    await eventually(() => assert.equal(server.app.connections(), 0));
    // The failed attempts cost the server nothing: a proper client still gets in.
    const client = await server.connect("/ws", { ca });
    await client.expectNothing();
    await server.closeClients();
  });
});

describe("security headers without TLS", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const directives = (csp: string) =>
    new Map(
      csp.split(";").map((d) => {
        const [name = "", ...values] = d.trim().split(/\s+/);
        return [name, values.join(" ")] as const;
      }),
    );

  for (const [path, status] of [
    ["/", 503],
    ["/healthz", 200],
    ["/nope", 404],
    ["/api/ice-servers", 200],
  ] as const) {
    it(`${path} (${status}) carries CSP, nosniff, no-referrer and DENY, and no HSTS`, async () => {
      const res = await fetch(`${server.httpUrl}${path}`);
      assert.equal(res.status, status);
      await res.body?.cancel();
      const csp = directives(res.headers.get("content-security-policy") ?? "");
      assert.equal(csp.get("default-src"), "'none'");
      assert.equal(csp.get("script-src"), "'self'");
      assert.equal(csp.get("connect-src"), "'self'");
      assert.equal(csp.get("frame-ancestors"), "'none'");
      assert.equal(csp.get("object-src"), "'none'");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("strict-transport-security"), null);
    });
  }
});
