// Lookup tables keyed by untrusted text (scraped values, config units, request paths) must only
// see their own keys: `constructor`, `__proto__`, `toString` are not units or numbers.
import { parseByteSize } from '../loki/bytes.js';
import { parseDuration } from '../syntax/vm/schema.js';
import { parseFloatGo } from './textparse/textparse.js';

describe('prototype keys are not table entries', () => {
  it.each(['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'])('%s', (k) => {
    expect(parseFloatGo(k)).toBeUndefined();
    expect(parseDuration(`1${k}`)).toBeUndefined();
    expect(parseByteSize(`1${k}`)).toBeUndefined();
  });
  it('still parses the real spellings', () => {
    expect(parseFloatGo('+Inf')).toBe(Infinity);
    expect(parseFloatGo('NaN')).toBeNaN();
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseByteSize('2MiB')).toBe(2 * 1024 * 1024);
  });
});
