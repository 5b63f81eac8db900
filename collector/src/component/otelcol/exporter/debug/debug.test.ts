import { decodeJson } from '../../../../otlp/json.js';
import { describe as describeData } from './debug.js';

describe('otelcol.exporter.debug', () => {
  const t = decodeJson('traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name: 'GET /', attributes: [{ key: 'k', value: { stringValue: 'v' } }] }] }] }] }));
  it('logs counts, one line per item, or the OTLP/JSON request by verbosity', () => {
    expect(describeData(t, 'basic')).toEqual(['traces: 1 resource(s), 1 item(s)']);
    expect(describeData(t, 'normal')[1]).toBe('GET / 0102030405060708090a0b0c0d0e0f10 0102030405060708 k=v');
    expect(JSON.parse(describeData(t, 'detailed')[1]!)).toMatchObject({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', name: 'GET /' }] }] }] });
  });
});
