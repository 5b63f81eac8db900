/**
 * The predefined container-log pipelines:
 * - `stage.cri`: `<time> <stream> <flags> <content>` (CRI); extracts `time`, `stream`, `flags`,
 *   `content`, sets the `stream` label, the timestamp (RFC3339Nano) and the line (`content`).
 *   Partial lines (flag `P`) are held per stream and joined with the next full (`F`) line; when
 *   more than `max_partial_lines` streams hold partial lines, they are all sent on as they are;
 *   with `max_partial_line_size_truncate`, a joined line is cut to `max_partial_line_size` bytes.
 * - `stage.docker`: Docker's JSON lines `{"log", "stream", "time"}`; extracts `output`, `stream`,
 *   `timestamp`, sets the `stream` label, the timestamp and the line (`output`).
 * A line that is not in the format passes through unchanged.
 */
import { z } from 'zod';
import { setLabel, type PEntry } from '../entry.js';
import type { Next, StageContext, StageDef } from '../pipeline.js';
import { timestamp } from './timestamp.js';

const CRI = /^(\S+?) (stdout|stderr) (\S+?) ([\s\S]*)$/;

export const criSchema = z
  .object({
    max_partial_lines: z.number().int().positive().default(100),
    max_partial_line_size: z.number().int().min(0).default(0),
    max_partial_line_size_truncate: z.boolean().default(false),
  })
  .strict();

function timestampStage(ctx: StageContext, source: string, next: Next) {
  return timestamp.build({ source, format: 'RFC3339Nano', fallback_formats: [], location: '', action_on_failure: 'fudge' }, ctx, next, () => {
    throw new Error('unreachable');
  });
}

function truncateBytes(s: string, max: number): string {
  if (max <= 0 || Buffer.byteLength(s) <= max) return s;
  return Buffer.from(s).subarray(0, max).toString('utf8').replace(/\uFFFD$/, '');
}

export const cri: StageDef<z.output<typeof criSchema>> = {
  build(b, ctx, next) {
    const ts = timestampStage(ctx, 'time', (e) => {
      e.line = String(e.extracted['content']);
      next(e);
    });
    const partial = new Map<string, PEntry[]>();
    const truncate = (s: string): string => (b.max_partial_line_size_truncate ? truncateBytes(s, b.max_partial_line_size) : s);
    const keyOf = (e: PEntry): string => {
      let k = '';
      for (const l of e.input) k += l.name + '\x00' + l.value + '\x00';
      return k + String(e.extracted['stream']);
    };
    const flushAll = (): void => {
      for (const list of partial.values()) for (const p of list) ts.process(p);
      partial.clear();
    };
    return {
      process(e) {
        const m = CRI.exec(e.line);
        if (m === null) return next(e);
        e.extracted['time'] = m[1]!;
        e.extracted['stream'] = m[2]!;
        e.extracted['flags'] = m[3]!;
        e.extracted['content'] = m[4]!;
        setLabel(e, 'stream', m[2]!);
        const key = keyOf(e);
        if (m[3]!.includes('P')) {
          const list = partial.get(key);
          if (list) list.push(e);
          else {
            if (partial.size >= b.max_partial_lines) flushAll();
            partial.set(key, [e]);
          }
          return;
        }
        const held = partial.get(key);
        if (held) {
          partial.delete(key);
          const first = held[0]!;
          first.extracted['content'] = truncate(held.map((p) => p.extracted['content'] as string).join('') + m[4]!);
          first.extracted['flags'] = m[3]!;
          return ts.process(first);
        }
        if (b.max_partial_line_size_truncate) e.extracted['content'] = truncate(m[4]!);
        ts.process(e);
      },
      close: flushAll,
    };
  },
};

export const dockerSchema = z.object({}).strict();

export const docker: StageDef<z.output<typeof dockerSchema>> = {
  build(_b, ctx, next) {
    const ts = timestampStage(ctx, 'timestamp', (e) => {
      const out = e.extracted['output'];
      if (typeof out === 'string') e.line = out;
      next(e);
    });
    return {
      process(e) {
        let d: unknown;
        try {
          d = JSON.parse(e.line);
        } catch {
          return next(e);
        }
        if (d === null || typeof d !== 'object' || Array.isArray(d)) return next(e);
        const o = d as Record<string, unknown>;
        if (o['log'] !== undefined) e.extracted['output'] = o['log'];
        if (o['stream'] !== undefined) e.extracted['stream'] = o['stream'];
        if (o['time'] !== undefined) e.extracted['timestamp'] = o['time'];
        if (typeof o['stream'] === 'string') setLabel(e, 'stream', o['stream']);
        ts.process(e);
      },
    };
  },
};
