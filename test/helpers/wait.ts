/**
 * Retries `check` until it stops throwing, for state the server updates
 * on its own schedule with no event a client can observe (a socket the
 * client terminated is noticed by the server a moment later). Bounded:
 * after `timeoutMs` the last assertion error is rethrown (or, with `what`,
 * an error saying what was waited for). Give every `assert.ok` in `check`
 * a message: without one, Node reads the source file to build it, which
 * blocks the event loop on every failed poll. Prefer waiting
 * for a message or an event; use this only where none exists.
 */
export async function eventually(
  check: () => void | Promise<void>,
  {
    timeoutMs = 5000,
    intervalMs = 10,
    what,
  }: {
    timeoutMs?: number;
    intervalMs?: number;
    /** What is waited for; when given, the timeout's error names it (and keeps the last failure as its cause). */
    what?: string;
  } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        if (what === undefined) throw error;
        throw new Error(`${what}: not within ${timeoutMs} ms (last: ${(error as Error).message})`, {
          cause: error,
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * `promise`, or a rejection saying what was waited for once `timeoutMs`
 * has passed: for waits on events (`once(socket, "close")`, a child's
 * exit) that would otherwise hang the run instead of failing the test.
 */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: not within ${timeoutMs} ms`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
