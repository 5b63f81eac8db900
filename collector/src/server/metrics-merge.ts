/**
 * Merges several Prometheus text expositions (one per prom-client registry) into one valid
 * exposition: a metric family that appears in several registries (e.g. the same metric from
 * two `prometheus.remote_write` components, told apart by `component_id`) is written once with
 * one HELP/TYPE header followed by all its samples.
 */
interface Family {
  help: string | undefined;
  type: string | undefined;
  samples: string[];
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  if (families.has(sampleName)) return sampleName;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return sampleName;
}

export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const get = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { help: undefined, type: undefined, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const text of texts) {
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
        const rest = line.slice(7);
        const sp = rest.indexOf(' ');
        const name = sp < 0 ? rest : rest.slice(0, sp);
        const value = sp < 0 ? '' : rest.slice(sp + 1);
        const f = get(name);
        if (line[2] === 'H') f.help ??= value;
        else f.type ??= value;
        current = name;
        continue;
      }
      if (line.startsWith('#')) continue;
      const end = line.search(/[{ ]/);
      const sampleName = end < 0 ? line : line.slice(0, end);
      const name = current !== undefined && (sampleName === current || sampleName.startsWith(current + '_')) ? current : familyOf(sampleName, families);
      get(name).samples.push(line);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    if (f.help !== undefined) out.push(`# HELP ${name} ${f.help}`);
    if (f.type !== undefined) out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.samples);
  }
  return out.join('\n') + '\n';
}
