import winston from 'winston';
import { Registry } from 'prom-client';
import { LiveDebugging } from '../../../runtime/live-debugging.js';
import { argumentsSchema, component, type Exports } from './relabel.js';

function run(args: Record<string, unknown>, live?: LiveDebugging) {
  const exports: Exports[] = [];
  const c = component.build(
    {
      id: 'discovery.relabel.t',
      logger: winston.createLogger({ silent: true }),
      registry: new Registry(),
      dataPath: '/tmp/unused',
      onStateChange: (e) => exports.push(e),
      setHealth: () => undefined,
      getService: <T>(name: string): T => {
        if (name === 'livedebugging' && live) return live as T;
        throw new Error('none');
      },
    },
    argumentsSchema.parse(args),
  );
  return { c: c as Exclude<typeof c, Promise<unknown>>, exports };
}

describe('discovery.relabel', () => {
  it('publishes each target before => after to a live-debugging viewer on every update, as upstream', () => {
    const live = new LiveDebugging();
    live.enabled = true;
    const args = { targets: [{ __address__: 'a:1', app: 'web' }, { __address__: 'b:1', app: 'db' }], rule: [{ source_labels: ['app'], regex: 'web', action: 'keep' }] };
    const { c } = run(args, live);
    const seen: string[] = [];
    live.subscribe('discovery.relabel.t', (items) => seen.push(...items));
    c.update(argumentsSchema.parse(args));
    expect(seen).toEqual(['{__address__="a:1", app="web"} => {__address__="a:1", app="web"}', '{__address__="b:1", app="db"} => {}']);
  });

  const targets = [
    { __address__: 'a:9100', __meta_kubernetes_pod_label_app: 'web', __meta_kubernetes_namespace: 'prod' },
    { __address__: 'b:9100', __meta_kubernetes_pod_label_app: 'db', __meta_kubernetes_namespace: 'prod' },
    { __address__: 'c:9100', __meta_kubernetes_pod_label_app: 'web', __meta_kubernetes_namespace: 'dev' },
  ];

  it('keeps, maps and shards targets; keeps meta labels in the output', () => {
    const { exports } = run({
      targets,
      rule: [
        { source_labels: ['__meta_kubernetes_pod_label_app'], regex: 'web', action: 'keep' },
        { regex: '__meta_kubernetes_pod_label_(.+)', action: 'labelmap' },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__address__'], target_label: '__tmp_hash', modulus: 2, action: 'hashmod' },
      ],
    });
    const out = exports.at(-1)!.output;
    expect(out.map((t) => t['__address__'])).toEqual(['a:9100', 'c:9100']);
    expect(out[0]).toMatchObject({ app: 'web', namespace: 'prod', __meta_kubernetes_namespace: 'prod' });
    expect(['0', '1']).toContain(out[0]!['__tmp_hash']);
    expect(exports.at(-1)!.rules).toHaveLength(4);
  });

  it('recomputes on update and passes targets through without rules', () => {
    const { c, exports } = run({ targets: targets.slice(0, 1) });
    expect(exports.at(-1)!.output).toEqual([targets[0]]);
    void c.update(argumentsSchema.parse({ targets, rule: [{ source_labels: ['__meta_kubernetes_namespace'], regex: 'dev', action: 'drop' }] }));
    expect(exports.at(-1)!.output).toHaveLength(2);
  });
});
