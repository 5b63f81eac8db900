/**
 * `otelcol.receiver.prometheus`: exports a Prometheus `receiver` (a `MetricsReceiver`); samples
 * appended to it (from `prometheus.scrape`, `prometheus.relabel`, ...) are translated to OTLP
 * metrics as upstream does (see `translate.ts`) and sent to `output.metrics`.
 * Metric types come from the scrape's metadata (`# TYPE`), which `prometheus.scrape` attaches to
 * its batches and `prometheus.relabel` keeps; samples from elsewhere (e.g. remote-write
 * receivers) have none and become gauges, as upstream without metadata.
 * `append` resolves once every metrics consumer took the data and rejects otherwise, so the
 * sender sees the failure (a scrape logs it; an HTTP receiver answers 5xx).
 */
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { asCapsule } from '../../../../syntax/vm/value.js';
import type { MetricsReceiver, SampleBatch } from '../../../../prom/types.js';
import { Telemetry } from '../../../../otlp/data.js';
import { BUILD_INFO } from '../../../../runtime/build-info.js';
import { debugMetricsBlock, fanOut, outputBlock, untilAborted } from '../../consumer.js';
import { StartTimeAdjuster, translate } from './translate.js';

export const argumentsSchema = z.object({
  output: outputBlock(),
  debug_metrics: debugMetricsBlock,
});
export type Arguments = z.output<typeof argumentsSchema>;
export interface Exports {
  readonly receiver: MetricsReceiver;
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'otelcol.receiver.prometheus',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: ['receiver'],
  build: (opts, args) => {
    let current = args;
    const adjuster = new StartTimeAdjuster();
    const dropped = new Counter({ name: 'otelcol_receiver_prometheus_dropped_samples_total', help: 'Samples that could not be translated (no job or instance label, or a timestamp inconsistent with the rest of their histogram or summary).', registers: [opts.registry] });
    const receiver = asCapsule<MetricsReceiver>(
      {
        append: async (batch: SampleBatch) => {
          if (batch.length === 0) return;
          const t = translate(batch, adjuster, BUILD_INFO.version);
          if (t.dropped > 0) dropped.inc(t.dropped);
          if (t.request.resourceMetrics.length === 0) return;
          await fanOut(current.output, Telemetry.of('metrics', t.request));
        },
      },
      'MetricsReceiver',
    );
    opts.onStateChange({ receiver });
    return {
      run: async (signal) => {
        opts.setHealth('healthy', 'ready');
        await untilAborted(signal);
      },
      update: (a) => {
        current = a;
      },
    };
  },
};
