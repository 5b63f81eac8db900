import { labelsFromRecord } from './labels/labels.js';
import { sampleLines } from './live-text.js';
import { STALE_NAN } from './types.js';

describe('live-debugging text of samples', () => {
  it('words live-debugging samples as upstream: sample: ts=<ms>, labels={...}, value=<%f>', () => {
    const series = [labelsFromRecord({ __name__: 'up', job: 'node' }), labelsFromRecord({ __name__: 'x' })];
    expect(sampleLines({ series, timestamps: Float64Array.from([1_714_557_600_123, 5]), values: Float64Array.from([1, STALE_NAN]), length: 2 })).toEqual(['sample: ts=1714557600123, labels={__name__="up", job="node"}, value=1.000000', 'sample: ts=5, labels={__name__="x"}, value=NaN']);
  });
});
