/**
 * `stage.multiline`: merges the lines of a block into one entry per stream. A line matching
 * `firstline` (RE2) starts a block; other lines join the current block with "\n". A block is
 * sent on when the next block starts, when it reaches `max_lines`, when its stream has had no new
 * line for `max_wait_time`, or when the pipeline closes. The block keeps the labels, timestamp
 * and extracted values of its first line.
 */
import { z } from 'zod';
import type { Labels } from '../../../../loki/types.js';
import { compileRe2, re2Search } from '../../../../prom/regex/re2.js';
import { duration } from '../../../../syntax/vm/schema.js';
import type { PEntry } from '../entry.js';
import type { StageDef } from '../pipeline.js';

export const multilineSchema = z
  .object({
    firstline: z.string(),
    max_lines: z.number().int().positive({ error: 'max_lines must be a positive integer' }).default(128),
    max_wait_time: duration().default(3000),
  })
  .strict()
  .superRefine((b, ctx) => {
    try {
      compileRe2(b.firstline);
    } catch (err: unknown) {
      ctx.addIssue({ code: 'custom', path: ['firstline'], message: (err as Error).message });
    }
    if (b.max_wait_time <= 0) ctx.addIssue({ code: 'custom', path: ['max_wait_time'], message: 'max_wait_time must be greater than 0' });
  });

interface Block {
  first: PEntry;
  lines: string[];
  lastAt: number;
}

export const multiline: StageDef<z.output<typeof multilineSchema>> = {
  build(b, ctx, next) {
    const re = re2Search(compileRe2(b.firstline));
    const blocks = new Map<Labels, Block>();
    let timer: NodeJS.Timeout | undefined;
    const flush = (key: Labels, blk: Block): void => {
      blocks.delete(key);
      blk.first.line = blk.lines.join('\n');
      next(blk.first);
    };
    const sweep = (): void => {
      const now = ctx.now();
      for (const [k, blk] of blocks) if (now - blk.lastAt >= b.max_wait_time) flush(k, blk);
      timer = blocks.size > 0 ? setTimeout(sweep, tick).unref() : undefined;
    };
    const tick = Math.min(1000, Math.max(5, Math.floor(b.max_wait_time / 4)));
    return {
      process(e) {
        const now = ctx.now();
        let blk = blocks.get(e.input);
        if (re.test(e.line)) {
          if (blk) flush(e.input, blk);
          blk = { first: e, lines: [e.line], lastAt: now };
          blocks.set(e.input, blk);
        } else if (blk) {
          blk.lines.push(e.line);
          blk.lastAt = now;
        } else {
          blk = { first: e, lines: [e.line], lastAt: now };
          blocks.set(e.input, blk);
        }
        if (blk.lines.length >= b.max_lines) flush(e.input, blk);
        if (timer === undefined && blocks.size > 0) timer = setTimeout(sweep, tick).unref();
      },
      close() {
        clearTimeout(timer);
        timer = undefined;
        for (const [k, blk] of [...blocks]) flush(k, blk);
      },
    };
  },
};
