/**
 * Prints where a sampling heap profile (`.heapprofile`, e.g. from `BENCH_ALLOC_PROFILE`) allocated:
 * the functions with the most sampled bytes (self), and the total.
 *
 *   node dist-bench/bench/alloc-profile-top.js <file.heapprofile> [N=25] [objects]
 *
 * With `objects` (the number of discovered objects), bytes are also printed per object.
 */
import fs from 'node:fs';

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

const [file, nArg, objArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: alloc-profile-top <file.heapprofile> [N] [objects]\n');
  process.exit(2);
}
const root = (JSON.parse(fs.readFileSync(file, 'utf8')) as { head: ProfileNode }).head;
const bySite = new Map<string, number>();
let total = 0;
const walk = (n: ProfileNode): void => {
  if (n.selfSize > 0) {
    const f = n.callFrame;
    const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist-bench|dist)\//, '')}:${f.lineNumber + 1}`;
    bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  for (const c of n.children) walk(c);
};
walk(root);
const objects = Number(objArg ?? 0);
const fmt = (b: number): string => `${(b / 1048576).toFixed(1).padStart(7)} MB${objects > 0 ? ` ${(b / objects / 1024).toFixed(2).padStart(6)} KB/obj` : ''}`;
const lines = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 25)).map(([site, b]) => `${fmt(b)}  ${site}`);
process.stdout.write(`total ${fmt(total)}\n${lines.join('\n')}\n`);
