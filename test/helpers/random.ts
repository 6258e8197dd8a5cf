/**
 * The Park–Miller minimal standard generator (state · 48271 mod 2³¹ − 1, exact in doubles), so a test and
 * the Python that computed its reference values (the comments beside them) draw the same numbers, and a
 * simulated experiment has the same data on every run.
 */
export function parkMiller(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}
