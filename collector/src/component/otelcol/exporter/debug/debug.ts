/**
 * `otelcol.exporter.debug`: writes received data to the component's log. `verbosity` "basic"
 * logs counts, "normal" one line per item, "detailed" the whole request as OTLP/JSON. After
 * `sampling_initial` messages per second only every `sampling_thereafter`-th is logged.
 * `use_internal_logger = false` writes to standard output instead.
 */
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import type { Telemetry } from '../../../../otlp/data.js';
import { hex, toJsonObject } from '../../../../otlp/json.js';
import type { LogsRequest, MetricsRequest, TracesRequest } from '../../../../otlp/types.js';
import { consumerComponent, debugMetricsBlock, type Consumer } from '../../consumer.js';
import { anyToString } from '../../processor/attributes/attributes.js';

export const argumentsSchema = z.object({
  verbosity: z.enum(['basic', 'normal', 'detailed']).default('basic'),
  sampling_initial: z.number().int().min(0).default(2),
  sampling_thereafter: z.number().int().min(0).default(1),
  use_internal_logger: z.boolean().default(true),
  debug_metrics: debugMetricsBlock,
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly input: Consumer;
}

/** The lines the exporter writes for `data` at `verbosity`. */
export function describe(data: Telemetry, verbosity: Arguments['verbosity']): string[] {
  const head = `${data.signal}: ${data.resources().length} resource(s), ${data.count} item(s)`;
  if (verbosity === 'basic') return [head];
  if (verbosity === 'detailed') return [head, JSON.stringify(toJsonObject(data))];
  const lines = [head];
  if (data.signal === 'traces')
    for (const rs of (data.request as TracesRequest).resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) lines.push(`${s.name} ${hex(s.traceId)} ${hex(s.spanId)} ${s.attributes.map((a) => `${a.key}=${anyToString(a.value)}`).join(' ')}`);
  else if (data.signal === 'logs')
    for (const rl of (data.request as LogsRequest).resourceLogs) for (const sl of rl.scopeLogs) for (const l of sl.logRecords) lines.push(`${anyToString(l.body)} ${l.attributes.map((a) => `${a.key}=${anyToString(a.value)}`).join(' ')}`);
  else for (const rm of (data.request as MetricsRequest).resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) lines.push(`${m.name}${m.unit ? ` (${m.unit})` : ''}`);
  return lines;
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.exporter.debug',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['input'],
  build: (opts, args) => {
    let second = 0;
    let n = 0;
    return consumerComponent(opts, args, (current, data) => {
      const now = Math.floor(Date.now() / 1000);
      if (now !== second) {
        second = now;
        n = 0;
      }
      n++;
      const sampled = n <= current.sampling_initial || (current.sampling_thereafter > 0 && (n - current.sampling_initial) % current.sampling_thereafter === 0);
      if (sampled)
        for (const line of describe(data, current.verbosity)) {
          if (current.use_internal_logger) opts.logger.info(line);
          else process.stdout.write(`${line}\n`);
        }
      return Promise.resolve();
    });
  },
};
