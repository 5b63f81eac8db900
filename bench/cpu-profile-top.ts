/**
 * Prints where a CPU profile (`.cpuprofile`, e.g. from `BENCH_FIRST_LIST_CPU_PROFILE`) spent its
 * time: the functions with the most self time, and the total sampled time.
 *
 *   node dist-bench/bench/cpu-profile-top.js <file.cpuprofile> [N=25]
 */
import fs from 'node:fs';

interface CpuProfile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, nArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: cpu-profile-top <file.cpuprofile> [N]\n');
  process.exit(2);
}
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
const site = new Map<number, string>();
for (const n of p.nodes) {
  const f = n.callFrame;
  site.set(n.id, `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist-bench|dist)\//, '')}${f.url ? `:${f.lineNumber + 1}` : ''}`);
}
const self = new Map<string, number>();
let total = 0;
p.samples.forEach((id, i) => {
  const us = p.timeDeltas[i] ?? 0;
  const s = site.get(id) ?? '?';
  self.set(s, (self.get(s) ?? 0) + us);
  total += us;
});
const lines = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 25)).map(([s, us]) => `${(us / 1000).toFixed(1).padStart(8)} ms  ${s}`);
process.stdout.write(`total ${(total / 1000).toFixed(1)} ms\n${lines.join('\n')}\n`);
