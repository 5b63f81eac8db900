/**
 * Stages that change labels, structured metadata, the line from extracted data, or the tenant:
 * `labels`, `static_labels`, `label_drop`, `label_keep` (and its Promtail name `labelallow`),
 * `structured_metadata`, `output`, `tenant`, `pack`.
 */
import { z } from 'zod';
import { isValidLabelName } from '../../../../prom/labels/labels.js';
import { currentLabels, deleteLabel, extractedString, getLabel, setLabel } from '../entry.js';
import type { StageDef } from '../pipeline.js';

/** The reserved label `loki.write` reads the tenant from. */
export const TENANT_LABEL = '__tenant_id__';

const labelMap = (what: string) =>
  z
    .record(z.string(), z.string().nullable())
    .default({})
    .superRefine((m, ctx) => {
      for (const k of Object.keys(m)) {
        if (!isValidLabelName(k)) ctx.addIssue({ code: 'custom', path: [k], message: `invalid ${what} name ${JSON.stringify(k)}: names must match [a-zA-Z_][a-zA-Z0-9_]*` });
      }
    });

export const labelsSchema = z.object({ values: labelMap('label') }).strict();

export const labels: StageDef<z.output<typeof labelsSchema>> = {
  build(b, _ctx, next) {
    const pairs = Object.entries(b.values).map(([k, src]) => [k, src === null || src === '' ? k : src] as const);
    return {
      process(e) {
        for (const [name, src] of pairs) {
          const v = e.extracted[src];
          if (v === undefined) continue;
          const s = extractedString(v);
          if (s !== undefined) setLabel(e, name, s);
        }
        next(e);
      },
    };
  },
};

export const staticLabelsSchema = z.object({ values: labelMap('label') }).strict();

export const staticLabels: StageDef<z.output<typeof staticLabelsSchema>> = {
  build(b, _ctx, next) {
    const pairs = Object.entries(b.values).filter((p): p is [string, string] => p[1] !== null);
    return {
      process(e) {
        for (const [k, v] of pairs) setLabel(e, k, v);
        next(e);
      },
    };
  },
};

export const labelListSchema = z.object({ values: z.array(z.string()).default([]) }).strict();

export const labelDrop: StageDef<z.output<typeof labelListSchema>> = {
  build(b, _ctx, next) {
    return {
      process(e) {
        for (const k of b.values) deleteLabel(e, k);
        next(e);
      },
    };
  },
};

export const labelKeep: StageDef<z.output<typeof labelListSchema>> = {
  build(b, _ctx, next) {
    const keep = new Set(b.values);
    return {
      process(e) {
        for (const k of currentLabels(e).keys()) if (!keep.has(k)) deleteLabel(e, k);
        next(e);
      },
    };
  },
};

export const structuredMetadataSchema = z.object({ values: labelMap('structured metadata') }).strict();

export const structuredMetadata: StageDef<z.output<typeof structuredMetadataSchema>> = {
  build(b, _ctx, next) {
    const pairs = Object.entries(b.values).map(([k, src]) => [k, src === null || src === '' ? k : src] as const);
    return {
      process(e) {
        for (const [name, src] of pairs) {
          const s = extractedString(e.extracted[src]);
          if (s === undefined || s === '') continue;
          const sm = (e.structuredMetadata ??= []);
          const i = sm.findIndex((l) => l.name === name);
          if (i >= 0) sm[i] = { name, value: s };
          else sm.push({ name, value: s });
        }
        next(e);
      },
    };
  },
};

export const outputSchema = z.object({ source: z.string().min(1, { error: 'source must name an extracted value, e.g. "message"' }) }).strict();

export const output: StageDef<z.output<typeof outputSchema>> = {
  build(b, _ctx, next) {
    return {
      process(e) {
        const v = e.extracted[b.source];
        if (v !== undefined) {
          const s = extractedString(v);
          if (s !== undefined) e.line = s;
        }
        next(e);
      },
    };
  },
};

export const tenantSchema = z
  .object({ label: z.string().default(''), source: z.string().default(''), value: z.string().default('') })
  .strict()
  .superRefine((b, ctx) => {
    const set = [b.label, b.source, b.value].filter((x) => x !== '').length;
    if (set !== 1) ctx.addIssue({ code: 'custom', message: 'stage.tenant needs exactly one of label, source or value' });
  });

export const tenant: StageDef<z.output<typeof tenantSchema>> = {
  build(b, _ctx, next) {
    return {
      process(e) {
        let id: string | undefined;
        if (b.value !== '') id = b.value;
        else if (b.source !== '') id = extractedString(e.extracted[b.source]);
        else id = getLabel(e, b.label);
        if (id !== undefined && id !== '') setLabel(e, TENANT_LABEL, id);
        next(e);
      },
    };
  },
};

export const packSchema = z
  .object({ labels: z.array(z.string()), ingest_timestamp: z.boolean().default(true) })
  .strict();

/** Loki's packed form: the chosen values (sorted by name), then `_entry` with the line. */
export function packLine(values: ReadonlyMap<string, string>, line: string): string {
  const keys = [...values.keys()].sort();
  let out = '{';
  for (const k of keys) out += `${JSON.stringify(k)}:${JSON.stringify(values.get(k))},`;
  return out + `"_entry":${JSON.stringify(line)}}`;
}

export const pack: StageDef<z.output<typeof packSchema>> = {
  build(b, ctx, next) {
    return {
      process(e) {
        const values = new Map<string, string>();
        for (const k of b.labels) {
          const ev = e.extracted[k];
          const lv = getLabel(e, k);
          if (ev !== undefined) values.set(k, extractedString(ev) ?? '');
          else if (lv !== undefined) values.set(k, lv);
          deleteLabel(e, k);
        }
        e.line = packLine(values, e.line);
        if (b.ingest_timestamp) {
          e.timestampMs = ctx.now();
          e.timestampNanos = 0;
        }
        next(e);
      },
    };
  },
};
