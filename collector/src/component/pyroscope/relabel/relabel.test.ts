import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import type { IncomingProfile, Labels, ProfilesReceiver, RawSample } from '../../../pyroscope/types.js';
import { argumentsSchema, PyroscopeRelabelComponent, type Exports } from './relabel.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
const L = (r: Record<string, string>): Labels => Object.entries(r).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
const rec = (l: Labels): Record<string, string> => Object.fromEntries(l.map((x) => [x.name, x.value]));

describe('pyroscope.relabel', () => {
  it('rewrites labels of pushed and ingested profiles, drops what the rules drop', async () => {
    const got: Array<Record<string, string>> = [];
    const ingested: IncomingProfile[] = [];
    const down: ProfilesReceiver = {
      append: async (l: Labels, _s: readonly RawSample[]) => void got.push(rec(l)),
      appendIngest: async (p) => void ingested.push(p),
    };
    const registry = new Registry();
    let ex: Exports | undefined;
    const opts: ComponentOptions<Exports> = { id: 'pyroscope.relabel.t', logger: log, registry, dataPath: '/x', onStateChange: (e) => (ex = e), setHealth: () => undefined, getService: () => { throw new Error('none'); } };
    const c = new PyroscopeRelabelComponent(
      opts,
      argumentsSchema.parse({
        forward_to: [down],
        rule: [
          { source_labels: ['env'], regex: 'dev', action: 'drop' },
          { source_labels: ['__address__'], target_label: 'host', regex: '([^:]+):.*', replacement: '$1' },
        ],
      }),
    );
    expect(ex!.receiver).toBe(c.receiver);
    const sample = [{ rawProfile: new Uint8Array([1]) }];
    await ex!.receiver.append(L({ __address__: 'web-1:6060', service_name: 'web', env: 'prod' }), sample);
    await ex!.receiver.append(L({ service_name: 'web', env: 'dev' }), sample);
    await ex!.receiver.appendIngest({ body: Buffer.from('x'), contentType: [], path: '/ingest', query: new URLSearchParams(), labels: L({ __address__: 'db:1', service_name: 'db' }) });
    expect(got).toStrictEqual([{ __address__: 'web-1:6060', env: 'prod', host: 'web-1', service_name: 'web' }]);
    expect(rec(ingested[0]!.labels)).toStrictEqual({ __address__: 'db:1', host: 'db', service_name: 'db' });
    const dropped = (await registry.getSingleMetric('pyroscope_relabel_profiles_dropped')!.get()).values[0]!.value;
    expect(dropped).toBe(1);
  });
});
