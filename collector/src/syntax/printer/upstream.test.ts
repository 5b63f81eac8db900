// Upstream's printer golden files (grafana/alloy syntax/printer/testdata, see PROVENANCE.md there),
// run as upstream's printer_test.go runs them: `X.in` formats to `X.expect` (compared with trailing
// whitespace trimmed, as upstream does); with an `X.error`, parsing `X.in` fails with an error
// containing that text. Two inputs whose `.expect` is not in the vendored set (see PROVENANCE.md)
// are checked to format cleanly and idempotently.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { format } from './printer.js';
import { parseFile } from '../parser/parser.js';
import { upstreamDir } from '../upstream.test-support.js';

const dir = upstreamDir('printer');
const inputs = readdirSync(dir).filter((f) => f.endsWith('.in'));
const read = (f: string): string => readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n');

describe('upstream printer testdata', () => {
  it('has the vendored files', () => expect(inputs.length).toBeGreaterThanOrEqual(10));

  it.each(inputs)('%s', (f) => {
    const base = f.slice(0, -'.in'.length);
    const src = read(f);
    if (existsSync(join(dir, `${base}.error`))) {
      const want = read(`${base}.error`);
      const messages = parseFile(f, src).diags.map((d) => d.message);
      expect(messages.some((m) => m.includes(want))).toBe(true);
      expect(format(src, f).text).toBeUndefined();
      return;
    }
    const r = format(src, f);
    expect(r.diags).toEqual([]);
    if (existsSync(join(dir, `${base}.expect`))) {
      expect(r.text!.trimEnd()).toBe(read(`${base}.expect`).trimEnd());
    } else {
      expect(format(r.text!, f).text).toBe(r.text);
    }
  });
});
