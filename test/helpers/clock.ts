/** A clock the test moves by hand, for rate limits and token buckets. */
export function manualClock(start = 0) {
  let now = start;
  return {
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}
