/**
 * Test-only: deterministic "random bytes" (a linear congruential generator) for the garbage-config
 * tests, so a failing input can be replayed from its seed. Imported by tests only.
 */
export function garbageBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}
