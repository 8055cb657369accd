import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { OPTIONS } from "../../src/server/config.js";

const README = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");

/** Rows of the README's configuration table: `| \`ENV\` | \`--flag\` | default | meaning |`. */
function configRows(): Map<string, { flag: string; default: string }> {
  const rows = new Map<string, { flag: string; default: string }>();
  for (const line of README.split("\n")) {
    const match = /^\| `([A-Z_]+)` \| `--([a-z-]+)` \| ([^|]+) \|/.exec(line);
    if (match?.[1] && match[2] && match[3]) {
      rows.set(match[1], { flag: match[2], default: match[3].trim().replace(/`/g, "") });
    }
  }
  return rows;
}

describe("README configuration table", () => {
  it("lists exactly the server's options, with their flags and defaults", () => {
    const rows = configRows();
    assert.deepEqual(
      [...rows.keys()].sort(),
      Object.values(OPTIONS)
        .map((o) => o.env)
        .sort(),
    );
    for (const option of Object.values(OPTIONS)) {
      assert.deepEqual(
        rows.get(option.env),
        { flag: option.flag, default: option.default },
        option.env,
      );
    }
  });
});
