/**
 * Deterministic randomness for the market replay: a string hash (FNV-1a, 32 bit) to derive seeds
 * from `(seed, market, time, purpose)` and the mulberry32 generator. Never `Math.random`: the same
 * seed must replay the same market, bit for bit, on every machine.
 */

/** A seeded source of uniform floats in [0, 1). */
export type Rng = () => number;

/** FNV-1a hash of the parts joined by `|`, as an unsigned 32-bit integer. */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  const text = parts.join("|");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The mulberry32 generator seeded with `seed` (any 32-bit integer). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator seeded from the hash of `parts`. */
export function rngFor(...parts: ReadonlyArray<string | number>): Rng {
  return mulberry32(hashSeed(...parts));
}

/** A standard normal variate (Box–Muller) drawn from `rng`. */
export function normal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A uniform integer in [lo, hi] (inclusive) drawn from `rng`. */
export function intBetween(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}
