import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseSync } from "vite";

/**
 * The dependency direction of docs/architecture: protocol <- server;
 * protocol <- client <- web. Imports are read with a real parser (oxc,
 * through vite), so comments and strings never count as imports.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

interface Import {
  /** Repository-relative path of the importing file. */
  readonly file: string;
  readonly specifier: string;
  /** Repository-relative target for relative specifiers, else null. */
  readonly target: string | null;
}

function sourceFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, encoding: "utf8" })
    .filter((path) => SOURCE.test(path) && !path.split(sep).includes("node_modules"))
    .map((path) => join(dir, path));
}

function importsOf(file: string): Import[] {
  const source = readFileSync(join(ROOT, file), "utf8");
  const parsed = parseSync(file, source);
  assert.deepEqual(
    parsed.errors.map((e) => e.message),
    [],
    `${file} does not parse`,
  );
  const specifiers: string[] = [
    ...parsed.module.staticImports.map((i) => i.moduleRequest.value),
    ...parsed.module.staticExports.flatMap((e) =>
      e.entries.flatMap((entry) => (entry.moduleRequest ? [entry.moduleRequest.value] : [])),
    ),
    ...parsed.module.dynamicImports.map((i) => {
      const text = source.slice(i.moduleRequest.start, i.moduleRequest.end);
      // Only literal specifiers can be checked; anything computed is refused.
      return /^(["'])[^"'`]*\1$/.test(text) ? text.slice(1, -1) : `<computed: ${text}>`;
    }),
  ];
  return specifiers.map((specifier) => ({
    file,
    specifier,
    target: specifier.startsWith(".")
      ? relative(ROOT, resolve(ROOT, dirname(file), specifier))
          .split(sep)
          .join("/")
      : null,
  }));
}

function within(target: string | null, ...dirs: string[]): boolean {
  return target !== null && dirs.some((dir) => target === dir || target.startsWith(`${dir}/`));
}

function violations(dir: string, allowed: (i: Import) => boolean, why: string): string[] {
  return sourceFiles(dir)
    .flatMap(importsOf)
    .filter((i) => !allowed(i))
    .map((i) => `${i.file}: "${i.specifier}" (${why})`);
}

const isNodeOrWs = (specifier: string) =>
  specifier.startsWith("node:") || specifier === "ws" || specifier.startsWith("ws/");

describe("architecture: import boundaries", () => {
  it("finds the layers it checks", () => {
    assert.ok(sourceFiles("src/protocol").length > 0);
    assert.ok(sourceFiles("src/server").length > 0);
    assert.ok(importsOf("src/server/app.ts").some((i) => within(i.target, "src/server")));
  });

  it("src/protocol imports nothing else of ours, and nothing Node-only", () => {
    // The browser SDK imports protocol/, so protocol/ must run in a browser too.
    assert.deepEqual(
      violations(
        "src/protocol",
        (i) => (i.target === null ? !isNodeOrWs(i.specifier) : within(i.target, "src/protocol")),
        "protocol may import only protocol/ and browser-safe packages",
      ),
      [],
    );
  });

  it("src/client imports only src/protocol (no Node builtins, no ws, no packages)", () => {
    assert.deepEqual(
      violations(
        "src/client",
        (i) => within(i.target, "src/client", "src/protocol"),
        "client may import only client/ and protocol/",
      ),
      [],
    );
  });

  it("src/server never imports src/client or web/", () => {
    assert.deepEqual(
      violations(
        "src/server",
        (i) =>
          !within(i.target, "src/client", "web") &&
          i.specifier !== "signalroom/client" &&
          !i.specifier.startsWith("signalroom/client/"),
        "the server never imports the client",
      ),
      [],
    );
  });

  it("web/ imports only the client SDK and protocol, relatively or through the package exports", () => {
    // vite.config.ts is build tooling that runs in Node, not part of the app.
    const app = sourceFiles("web").filter((file) => !/(^|\/)vite\.config\.[cm]?[jt]s$/.test(file));
    const bad = app
      .flatMap(importsOf)
      .filter(
        (i) =>
          !(
            within(i.target, "web", "src/client", "src/protocol") ||
            i.specifier === "signalroom/client" ||
            i.specifier === "signalroom/protocol"
          ),
      )
      .map((i) => `${i.file}: "${i.specifier}"`);
    assert.deepEqual(bad, []);
  });
});
