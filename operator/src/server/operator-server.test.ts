import { OperatorMetrics } from '../metrics/operator-metrics.js';
import { OperatorServer, parseListenAddress } from './operator-server.js';

describe('OperatorServer', () => {
  it('GIVEN a running server THEN /metrics, /healthz and /readyz answer', async () => {
    const metrics = new OperatorMetrics();
    metrics.reconcileTotal.inc({ controller: 'collector', result: 'success' });
    let reason: string | undefined = 'informers not synced';
    const server = new OperatorServer({ listenAddress: '127.0.0.1:0', registry: metrics.registry, notReadyReason: () => reason });
    const { port } = await server.listen();
    const get = async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      return [r.status, await r.text()] as const;
    };
    expect(await get('/healthz')).toStrictEqual([200, 'ok\n']);
    expect(await get('/readyz')).toStrictEqual([503, 'not ready: informers not synced\n']);
    reason = undefined;
    expect((await get('/readyz'))[0]).toBe(200);
    const [status, body] = await get('/metrics');
    expect(status).toBe(200);
    expect(body).toContain('controller_runtime_reconcile_total{controller="collector",result="success"} 1');
    await server.close();
  });

  it('GIVEN a bad listen address THEN the error names the expected form', () => {
    expect(() => parseListenAddress('8080')).toThrow(/host:port/);
    expect(parseListenAddress(':8080')).toStrictEqual({ host: '0.0.0.0', port: 8080 });
  });
});
