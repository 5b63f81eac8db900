import winston from 'winston';
import { Registry } from 'prom-client';
import { component, scrapeAddress } from './self.js';
import type { HttpService } from '../../../../runtime/services.js';

describe('prometheus.exporter.self', () => {
  it('exports one target at the main server /metrics with job integrations/alloy', async () => {
    const http: HttpService = { listenAddr: '127.0.0.1:4321', memoryAddr: 'alloy.internal:12345', dialAddress: (a) => a, pathFor: (id) => id, mount: () => () => undefined };
    let exported: unknown;
    const c = await component.build(
      {
        id: 'prometheus.exporter.self.me',
        logger: winston.createLogger({ silent: true }),
        registry: new Registry(),
        dataPath: '/tmp/x',
        onStateChange: (e) => (exported = e),
        setHealth: () => undefined,
        getService: <T>() => http as T,
      },
      {},
    );
    expect(exported).toEqual({
      targets: [{ __address__: '127.0.0.1:4321', __metrics_path__: '/metrics', instance: expect.any(String), job: 'integrations/alloy' }],
    });
    const ac = new AbortController();
    const run = c.run(ac.signal);
    ac.abort();
    await expect(run).resolves.toBeUndefined();
  });

  it.each([
    ['0.0.0.0:12345', '127.0.0.1:12345'],
    [':12345', '127.0.0.1:12345'],
    ['[::]:9', '[::1]:9'],
    ['10.0.0.5:12345', '10.0.0.5:12345'],
  ])('scrapes %s via %s', (listen, want) => {
    expect(scrapeAddress(listen)).toBe(want);
  });

  it('rejects arguments', () => {
    expect(component.args.safeParse({ foo: 1 }).success).toBe(false);
  });
});
