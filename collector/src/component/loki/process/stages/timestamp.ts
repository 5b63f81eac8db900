/**
 * `stage.timestamp`: sets the entry timestamp from an extracted value parsed with `format` (a Go
 * layout, a named layout such as RFC3339, or Unix/UnixMs/UnixUs/UnixNs), then each of
 * `fallback_formats`. When the value is missing or parses with none of them,
 * `action_on_failure = "fudge"` (default) sets the stream's last parsed timestamp plus 1ns (when
 * the stream has one) and `"skip"` keeps the timestamp.
 */
import { z } from 'zod';
import { extractedString, addNanos, type PEntry } from '../entry.js';
import { checkLocation, layoutHasElements, NAMED_LAYOUTS, parseGoTime, parseUnixTime, UNIX_FORMATS, type Timestamp } from '../go-time.js';
import type { StageDef } from '../pipeline.js';
import type { Labels } from '../../../../loki/types.js';

export type TimeParser = (value: string) => Timestamp;

/** Compiles a `format` value; throws with a message naming the fix for unusable formats. */
export function compileTimeFormat(format: string, location: string | undefined, now: () => Date = () => new Date()): TimeParser {
  // `now` is only called for layouts without a year.
  if ((UNIX_FORMATS as readonly string[]).includes(format)) {
    const f = format as (typeof UNIX_FORMATS)[number];
    return (v) => parseUnixTime(f, v);
  }
  const layout = NAMED_LAYOUTS[format] ?? format;
  if (layout === '') throw new Error('format must not be empty; use RFC3339, Unix, UnixMs or a Go layout such as "2006-01-02 15:04:05"');
  if (!layoutHasElements(layout)) {
    throw new Error(
      `format ${JSON.stringify(format)} is not a known format name and has no Go reference-time elements; write the reference time Mon Jan 2 15:04:05 MST 2006 in your layout (e.g. "2006-01-02T15:04:05.000Z07:00") or use RFC3339, RFC3339Nano, Unix, UnixMs, UnixUs, UnixNs`,
    );
  }
  return (v) => parseGoTime(layout, v, location, now);
}

export const timestampSchema = z
  .object({
    source: z.string().min(1, { error: 'source must name an extracted value, e.g. "time"' }),
    format: z.string(),
    fallback_formats: z.array(z.string()).default([]),
    location: z.string().default(''),
    action_on_failure: z.enum(['fudge', 'skip'], { error: 'action_on_failure must be "fudge" or "skip"' }).default('fudge'),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.location !== '') {
      try {
        checkLocation(b.location);
      } catch (err: unknown) {
        ctx.addIssue({ code: 'custom', path: ['location'], message: (err as Error).message });
      }
    }
    const loc = b.location || undefined;
    try {
      compileTimeFormat(b.format, loc);
    } catch (err: unknown) {
      ctx.addIssue({ code: 'custom', path: ['format'], message: (err as Error).message });
    }
    b.fallback_formats.forEach((f, i) => {
      try {
        compileTimeFormat(f, loc);
      } catch (err: unknown) {
        ctx.addIssue({ code: 'custom', path: ['fallback_formats', i], message: (err as Error).message });
      }
    });
  });

const MAX_TRACKED_STREAMS = 10_000;

export const timestamp: StageDef<z.output<typeof timestampSchema>> = {
  build(b, ctx, next) {
    const loc = b.location || undefined;
    const now = (): Date => new Date(ctx.now());
    const parsers = [b.format, ...b.fallback_formats].map((f) => compileTimeFormat(f, loc, now));
    const last = new Map<Labels, Timestamp>();
    const parse = (v: string): Timestamp | undefined => {
      for (const p of parsers) {
        try {
          return p(v);
        } catch {
          // try the next format
        }
      }
      return undefined;
    };
    const remember = (e: PEntry, ts: Timestamp): void => {
      if (last.size >= MAX_TRACKED_STREAMS && !last.has(e.input)) last.delete(last.keys().next().value!);
      last.set(e.input, ts);
    };
    return {
      process(e) {
        const raw = e.extracted[b.source];
        const s = raw === undefined ? undefined : extractedString(raw);
        const ts = s === undefined ? undefined : parse(s);
        if (ts !== undefined) {
          e.timestampMs = ts.timestampMs;
          e.timestampNanos = ts.timestampNanos;
          if (b.action_on_failure === 'fudge') remember(e, ts);
        } else if (b.action_on_failure === 'fudge') {
          const prev = last.get(e.input);
          if (prev !== undefined) {
            const f = addNanos(prev, 1);
            e.timestampMs = f.timestampMs;
            e.timestampNanos = f.timestampNanos;
            remember(e, f);
          }
        }
        next(e);
      },
    };
  },
};
