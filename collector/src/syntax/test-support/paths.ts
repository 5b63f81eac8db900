/** Test-only helpers: where the syntax golden files live. Imported by `*.test.ts` only. */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const TESTDATA = join(here, '..', '..', '..', 'testdata', 'syntax');
export const DOCS = '/work/shared/reference/alloy-configure-docs.md';
