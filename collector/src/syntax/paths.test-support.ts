/**
 * Test-only helpers: where the syntax golden files and the reference docs live, relative to this
 * checkout (never absolute). Imported by `*.test.ts` only.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const REPO_ROOT = join(here, '..', '..', '..');
export const TESTDATA = join(REPO_ROOT, 'collector', 'testdata', 'syntax');
/** The vendored copy of the reference docs that tests read. */
export const DOCS = join(REPO_ROOT, 'collector', 'testdata', 'reference', 'alloy-configure-docs.md');
/** The shared original beside the repository (`<repo>/../shared/...`); may be absent. */
export const SHARED_DOCS = join(REPO_ROOT, '..', 'shared', 'reference', 'alloy-configure-docs.md');
