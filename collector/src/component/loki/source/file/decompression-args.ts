/** The `decompression` block of `loki.source.file` (Alloy's names and defaults). */
import { z } from 'zod';
import { duration } from '../../../../syntax/vm/schema.js';
import { DECOMPRESSION_FORMATS } from './decompressor.js';

export const decompressionSchema = z
  .object({
    enabled: z.boolean(),
    initial_delay: duration().default(0),
    format: z.enum(DECOMPRESSION_FORMATS, { error: `format must be one of ${DECOMPRESSION_FORMATS.map((f) => JSON.stringify(f)).join(', ')} (zip is not supported, as in Alloy)` }),
  })
  .strict();
