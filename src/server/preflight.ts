import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createSecureContext } from "node:tls";
import { fileURLToPath } from "node:url";
import { createTokenVerifier, type TokenVerifier } from "./auth/join-tokens.js";
import { type Config, ConfigError, DEFAULT_WEB_ROOT, readOptionFile } from "./config.js";
import { checkTrustProxy } from "./http/client-address.js";

/**
 * What must hold before the server listens and can be known without the
 * network: TRUST_PROXY compiles, the join-token key (AUTH_PUBLIC_KEY) is
 * usable, the TLS files are a certificate and its key, WEB_ROOT holds an
 * app. `startSignalroom` and `signalroom check-config` both run these, so a
 * configuration check-config passes does not fail at start for these reasons.
 */
export interface Preflight {
  readonly verifier: TokenVerifier | null;
  /** TLS_CERT and TLS_KEY read, or null without TLS. */
  readonly tlsFiles: { cert: Buffer; key: Buffer } | null;
  /** The folder to serve the web app from, or null for none (or none found at the default). */
  readonly webRoot: string | null;
}

/** Every check, each run even when another failed: the result, or every problem found. */
export function preflightChecks(
  config: Config,
): { ok: true; preflight: Preflight } | { ok: false; problems: ConfigError[] } {
  const problems: ConfigError[] = [];
  const check = <T>(run: () => T): T | null => {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      return null;
    }
  };
  check(() => {
    if (config.trustProxy === undefined) return;
    const problem = checkTrustProxy(config.trustProxy);
    if (problem) throw new ConfigError(`TRUST_PROXY / --trust-proxy: ${problem}`);
  });
  const verifier = check(() => createTokenVerifier(config));
  // Everything that can be wrong with files is found before anything starts.
  const tlsFiles = check(() => readTlsFiles(config));
  const webRoot = check(() => {
    const found = resolveWebRoot(config.webRoot);
    if (found === null && config.webRoot !== "" && config.webRoot !== DEFAULT_WEB_ROOT) {
      throw new ConfigError(
        `WEB_ROOT / --web-root: no index.html in ${config.webRoot} (build the app there, or --web-root "" to serve none)`,
      );
    }
    return found;
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, preflight: { verifier, tlsFiles, webRoot } };
}

/** The checks for a start: the first problem (in the order above) is thrown. */
export function preflight(config: Config): Preflight {
  const result = preflightChecks(config);
  if (!result.ok) throw result.problems[0];
  return result.preflight;
}

/** TLS_CERT and TLS_KEY read and checked, or null without TLS; a problem is a ConfigError naming the option. */
function readTlsFiles(config: Config): { cert: Buffer; key: Buffer } | null {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return null;
  const cert = readPem("TLS_CERT / --tls-cert", config.tlsCert, "CERTIFICATE", "PRIVATE KEY");
  const key = readPem("TLS_KEY / --tls-key", config.tlsKey, "PRIVATE KEY", "CERTIFICATE");
  // Each file on its own first, so the message names the one that is wrong.
  try {
    new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(
      `TLS_CERT / --tls-cert: ${config.tlsCert} holds no usable certificate (${firstLine((error as Error).message)})`,
    );
  }
  if (key.includes("ENCRYPTED")) {
    throw new ConfigError(
      `TLS_KEY / --tls-key: ${config.tlsKey} is encrypted; give the key without a passphrase (keep the file readable by this user only)`,
    );
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(
      `TLS_KEY / --tls-key: ${config.tlsKey} holds no usable private key (${firstLine((error as Error).message)})`,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const reason = (error as Error).message;
    throw new ConfigError(
      /mismatch/i.test(reason)
        ? "TLS_KEY / --tls-key: the key does not belong to TLS_CERT's certificate"
        : `TLS_CERT / --tls-cert: cannot use the certificate and key (${firstLine(reason)})`,
    );
  }
  return { cert, key };
}

/** A PEM file expected to hold `wanted`; `other` in it means the two files were swapped. */
function readPem(option: string, path: string, wanted: string, other: string): Buffer {
  const text = readOptionFile(option, path);
  const pem = text.toString("latin1");
  if (!pem.includes(`-----BEGIN `)) {
    throw new ConfigError(`${option}: ${path} is not a PEM file`);
  }
  if (!pem.includes(wanted) && pem.includes(other)) {
    throw new ConfigError(
      `${option}: ${path} holds a ${other.toLowerCase()}, not a ${wanted.toLowerCase()} (are TLS_CERT and TLS_KEY swapped?)`,
    );
  }
  if (!pem.includes(wanted)) {
    throw new ConfigError(`${option}: ${path} holds no ${wanted.toLowerCase()}`);
  }
  return text;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/**
 * The configured web root, or, for the default, the bundled app next to
 * the compiled server (`dist/web`) whether running from `dist/` or `src/`.
 */
function resolveWebRoot(configured: string): string | null {
  if (configured === "") return null;
  // Running from src/ (tsx), the bundled app is the one built into dist/.
  // A folder the operator chose is never swapped for another.
  const candidates =
    configured === DEFAULT_WEB_ROOT
      ? [configured, join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "web")]
      : [configured];
  return candidates.find((dir) => existsSync(join(dir, "index.html"))) ?? null;
}
