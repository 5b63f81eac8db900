import { parseDuration } from './main.js';

describe('operator flags', () => {
  it.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
  ])('GIVEN --lease-duration=%s THEN it is %d ms', (text, ms) => {
    expect(parseDuration('lease-duration', text)).toBe(ms);
  });

  it.each(['15', '', '1x', 's'])('GIVEN the bad duration %j THEN the error names the flag and the form', (text) => {
    expect(() => parseDuration('lease-duration', text)).toThrow(/--lease-duration must be a duration like 500ms, 15s or 1m/);
  });
});
