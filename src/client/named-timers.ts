/**
 * One-shot timers by name: setting a name replaces its timer, and a timer
 * that fired is no longer `has()`, so "is a wait under way" is one lookup.
 */
export class NamedTimers<Name extends string> {
  readonly #timers = new Map<Name, ReturnType<typeof setTimeout>>();

  /** Runs `run` after `ms`, replacing the timer of that name. */
  set(name: Name, ms: number, run: () => void): void {
    this.clear(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        run();
      }, ms),
    );
  }

  /** Whether the timer of that name is waiting. */
  has(name: Name): boolean {
    return this.#timers.has(name);
  }

  /** Cancels the timer of that name, if any. */
  clear(name: Name): void {
    const timer = this.#timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(name);
  }

  /** Cancels every timer. */
  clearAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
