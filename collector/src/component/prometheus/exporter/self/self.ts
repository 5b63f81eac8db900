/**
 * `prometheus.exporter.self`: exports a scrape target pointing at this collector's own
 * `/metrics` on the main HTTP server, so a config can scrape the collector itself
 * (`prometheus.scrape` → `prometheus.remote_write`). Takes no arguments; never unhealthy once built.
 */
import os from 'node:os';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import type { HttpService } from '../../../../runtime/services.js';

export type Arguments = Record<string, never>;

export interface Exports {
  readonly targets: ReadonlyArray<Readonly<Record<string, string>>>;
}

/** A wildcard listen address is not dialable everywhere; scrape it over loopback instead. */
export function scrapeAddress(listenAddr: string): string {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(listenAddr);
  if (!m) return listenAddr;
  const host = m[1] ?? m[2] ?? '';
  if (host === '' || host === '0.0.0.0') return `127.0.0.1:${m[3]}`;
  if (host === '::') return `[::1]:${m[3]}`;
  return listenAddr;
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'prometheus.exporter.self',
  stability: 'generally-available',
  args: z.object({}).strict() as unknown as z.ZodType<Arguments>,
  exports: ['targets'],
  build(opts) {
    const http = opts.getService<HttpService>('http');
    opts.onStateChange({
      targets: [
        {
          __address__: scrapeAddress(http.listenAddr),
          __metrics_path__: '/metrics',
          instance: os.hostname(),
          job: 'integrations/alloy',
        },
      ],
    });
    return {
      run: (signal) => new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      }),
      update: () => undefined,
    };
  },
};
