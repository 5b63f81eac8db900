/** Byte sizes in Alloy's syntax (`"1MiB"`, `"512KiB"`), as used by loki.* arguments. */
import { z } from 'zod';

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parses a byte size such as "1MiB", "512KiB", "1MB" (base 2, as Alloy's `units.Base2Bytes`). */
export function parseByteSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(s);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = Object.hasOwn(BYTE_UNITS, unit) ? BYTE_UNITS[unit] : undefined;
  if (mult === undefined) return undefined;
  return Math.floor(Number(m[1]) * mult);
}

/** A byte-size string ("1MiB") decoded to a number of bytes. */
export function byteSize(): z.ZodType<number, string> {
  return z.string().transform((s, ctx) => {
    const n = parseByteSize(s);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(s)}: expected a size such as "1MiB", "512KiB" or "1048576"`, input: s });
      return z.NEVER;
    }
    return n;
  });
}
