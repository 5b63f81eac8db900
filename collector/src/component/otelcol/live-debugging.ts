/**
 * Live debugging for `otelcol.*` components: receivers, processors and connectors publish each
 * request they pass on (after their own processing, before their `output`), as upstream Alloy
 * does; the UI shows it as OTLP text (`otlp/text.ts`). Exporters publish nothing (upstream
 * neither: they are where data leaves the collector).
 *
 * A request's text is capped at `MAX_TEXT` characters (a note says how much was cut), so one huge
 * batch cannot flood the browser.
 */
import type { ComponentOptions } from '../../runtime/component.js';
import { optionalService, type LiveDebuggingService } from '../../runtime/live-debugging.js';
import type { Telemetry } from '../../otlp/data.js';
import { otlpText } from '../../otlp/text.js';

export const MAX_TEXT = 256 * 1024;

export type TelemetryPublisher = (data: Telemetry) => void;

/** Capped text of one request. */
export function liveText(data: Telemetry): string {
  const text = otlpText(data);
  if (text.length <= MAX_TEXT) return text;
  const cut = text.lastIndexOf('\n', MAX_TEXT);
  const kept = text.slice(0, cut > 0 ? cut + 1 : MAX_TEXT);
  return `${kept}... (${text.length - kept.length} more characters of this ${data.signal} request not shown)\n`;
}

/** The publisher of one component (a no-op where the runtime has no live-debugging service). */
export function telemetryPublisher(opts: Pick<ComponentOptions<never>, 'id' | 'getService'>): TelemetryPublisher {
  const live = optionalService((n) => opts.getService<LiveDebuggingService>(n));
  if (!live) return () => undefined;
  return (data) => live.publish(opts.id, () => (data.count > 0 || data.resources().length > 0 ? [liveText(data)] : []));
}
