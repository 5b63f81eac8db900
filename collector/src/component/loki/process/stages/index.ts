/**
 * Every `stage.*` block of `loki.process`: its body schema (validation with Alloy's defaults,
 * errors pointed at the offending attribute) and its builder.
 */
import { z } from 'zod';
import { enumBlocks } from '../../../../syntax/vm/schema.js';
import type { StageConfig, StageDef } from '../pipeline.js';
import { decolorize, decolorizeSchema, json, jsonSchema, logfmt, logfmtSchema, regex, regexSchema, replace, replaceSchema, template, templateSchema } from './extract.js';
import { checkMatch, drop, dropSchema, limit, limitSchema, match, matchBody, sampling, samplingSchema, type MatchBody } from './filter.js';
import { cri, criSchema, docker, dockerSchema } from './formats.js';
import { labelDrop, labelKeep, labelListSchema, labels, labelsSchema, output, outputSchema, pack, packSchema, staticLabels, staticLabelsSchema, structuredMetadata, structuredMetadataSchema, tenant, tenantSchema } from './labels.js';
import { metrics, metricsSchema } from './metrics.js';
import { multiline, multilineSchema } from './multiline.js';
import { timestamp, timestampSchema } from './timestamp.js';

// `stage.match` nests stages, so its schema refers back to the list being defined.
let stagesField: z.ZodType<StageConfig[]>;

const matchSchema = z
  .object({ ...matchBody, stages: z.lazy(() => stagesField).default([]) })
  .strict()
  .superRefine((b, ctx) => checkMatch(b, ctx));

export const STAGE_SCHEMAS = {
  'stage.cri': criSchema,
  'stage.decolorize': decolorizeSchema,
  'stage.docker': dockerSchema,
  'stage.drop': dropSchema,
  'stage.json': jsonSchema,
  'stage.label_drop': labelListSchema,
  'stage.label_keep': labelListSchema,
  'stage.labelallow': labelListSchema,
  'stage.labels': labelsSchema,
  'stage.limit': limitSchema,
  'stage.logfmt': logfmtSchema,
  'stage.match': matchSchema,
  'stage.metrics': metricsSchema,
  'stage.multiline': multilineSchema,
  'stage.output': outputSchema,
  'stage.pack': packSchema,
  'stage.regex': regexSchema,
  'stage.replace': replaceSchema,
  'stage.sampling': samplingSchema,
  'stage.static_labels': staticLabelsSchema,
  'stage.structured_metadata': structuredMetadataSchema,
  'stage.template': templateSchema,
  'stage.tenant': tenantSchema,
  'stage.timestamp': timestampSchema,
} as const;

stagesField = enumBlocks(STAGE_SCHEMAS) as unknown as z.ZodType<StageConfig[]>;

/** The `stage.*` blocks of a body, in source order. */
export const stagesSchema = stagesField;

export const STAGE_DEFS: Readonly<Record<keyof typeof STAGE_SCHEMAS, StageDef<never>>> = {
  'stage.cri': cri as StageDef<never>,
  'stage.decolorize': decolorize as StageDef<never>,
  'stage.docker': docker as StageDef<never>,
  'stage.drop': drop as StageDef<never>,
  'stage.json': json as StageDef<never>,
  'stage.label_drop': labelDrop as StageDef<never>,
  'stage.label_keep': labelKeep as StageDef<never>,
  'stage.labelallow': labelKeep as StageDef<never>,
  'stage.labels': labels as StageDef<never>,
  'stage.limit': limit as StageDef<never>,
  'stage.logfmt': logfmt as StageDef<never>,
  'stage.match': match as StageDef<MatchBody> as StageDef<never>,
  'stage.metrics': metrics as StageDef<never>,
  'stage.multiline': multiline as StageDef<never>,
  'stage.output': output as StageDef<never>,
  'stage.pack': pack as StageDef<never>,
  'stage.regex': regex as StageDef<never>,
  'stage.replace': replace as StageDef<never>,
  'stage.sampling': sampling as StageDef<never>,
  'stage.static_labels': staticLabels as StageDef<never>,
  'stage.structured_metadata': structuredMetadata as StageDef<never>,
  'stage.template': template as StageDef<never>,
  'stage.tenant': tenant as StageDef<never>,
  'stage.timestamp': timestamp as StageDef<never>,
};
