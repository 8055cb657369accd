import { createHash } from "node:crypto";
import type { Redis } from "./redis-client.js";

/** A reply from a script: what Lua returns, as node-redis hands it over. */
export type LuaReply = string | number | null | LuaReply[];

/**
 * A Lua script run by its SHA-1 (`EVALSHA`), loaded on first use and again
 * whenever Redis answers NOSCRIPT (it restarted, or `SCRIPT FLUSH`).
 */
export class Script {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<LuaReply> {
    const options = { keys, arguments: args.map(String) };
    try {
      return (await redis.evalSha(this.#sha, options)) as LuaReply;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return (await redis.eval(this.#source, options)) as LuaReply;
    }
  }
}
