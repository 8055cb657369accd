/**
 * Turns zod's JIT off for the SDK, so that parsing server frames never
 * evaluates code: pages that run under `script-src 'self'` (no
 * `'unsafe-eval'`) get no Content-Security-Policy violation from us.
 *
 * zod v4 compiles a fast parser for each object schema with `new Function`,
 * and probes whether it may do so (`new Function("")`, error swallowed) when
 * it builds the first one. The probe alone fires `securitypolicyviolation`
 * (and a CSP report) on every page load. Its documented switch is
 * `z.config({ jitless: true })`, which skips the probe and the compiled path
 * (the interpreted path parses exactly the same; server frames are few and
 * small). It is read when a schema is *built*, and the protocol's schemas
 * are built when `src/protocol` is first evaluated, so this must run before
 * that: it is the first import of the SDK's entry modules and imports
 * nothing itself. `src/client` imports no packages (the layering rule that
 * `test/unit/architecture.test.ts` enforces), so it sets the object
 * `z.config()` writes to:
 * zod keeps its configuration on `globalThis.__zod_globalConfig` so that
 * every copy of zod shares it, and adopts an object already there.
 * `test/unit/client-zod-jitless.test.ts` checks that zod reads it and that
 * loading the SDK never calls `Function`.
 *
 * The server never imports the SDK, so it keeps zod's JIT.
 */
const holder = globalThis as { __zod_globalConfig?: { jitless?: boolean } };
holder.__zod_globalConfig ??= {};
holder.__zod_globalConfig.jitless = true;

export {};
