/**
 * Retries `check` until it stops throwing, for state the server updates
 * on its own schedule with no event a client can observe (a socket the
 * client terminated is noticed by the server a moment later). Bounded:
 * after `timeoutMs` the last assertion error is rethrown. Prefer waiting
 * for a message or an event; use this only where none exists.
 */
export async function eventually(
  check: () => void | Promise<void>,
  { timeoutMs = 5000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
