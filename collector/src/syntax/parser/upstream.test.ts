// Upstream's parser test data (grafana/alloy syntax/parser/testdata, see PROVENANCE.md there),
// run the way upstream's error_test.go runs it: every `/* ERROR "rx" */` comment expects an error
// matching rx at the position of the token before it (`/* ERROR HERE "rx" */`: just after that
// token); every reported error must be expected, and every expectation met. Files under valid/
// must parse without diagnostics (parser_test.go). Positions compared as byte offsets.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile } from './parser.js';
import { Scanner } from '../scanner/scanner.js';
import { tokenText, type Token } from '../scanner/token.js';
import { byteOffset, upstreamDir } from '../upstream.test-support.js';

const dir = upstreamDir('parser');
const ERR_RX = /^\/\* *ERROR *(HERE)? *"([^"]*)" *\*\/$/;

/** Expected errors by byte offset, as upstream's `expectedErrors`. */
function expectedErrors(src: string): Map<number, string> {
  const out = new Map<number, string>();
  const s = new Scanner(src, () => undefined);
  let prev = 0;
  let here = 0;
  for (let t: Token = s.scan(); t !== 'EOF'; t = s.scan()) {
    if (t === 'COMMENT') {
      const m = ERR_RX.exec(s.lit);
      if (m) out.set(m[1] === 'HERE' ? here : prev, m[2]!);
      continue;
    }
    if (t === 'TERMINATOR' && s.lit === '\n') continue;
    prev = byteOffset(src, s.start);
    // Upstream: the literal's length for literals, else the length of the token's name/text.
    const len = t === 'IDENT' || t === 'NUMBER' || t === 'FLOAT' || t === 'STRING' ? Buffer.byteLength(s.lit) : tokenText(t).length;
    here = prev + len;
  }
  return out;
}

const errorFiles = readdirSync(dir).filter((f) => f.endsWith('.alloy'));

describe('upstream parser testdata: ERROR comments', () => {
  it('has the vendored files', () => expect(errorFiles.length).toBeGreaterThanOrEqual(6));
  it.each(errorFiles)('%s', (f) => {
    const src = readFileSync(join(dir, f), 'utf8');
    const expected = expectedErrors(src);
    expect(expected.size).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const d of parseFile(f, src).diags) {
      const at = byteOffset(src, d.start.offset);
      const rx = expected.get(at);
      if (rx === undefined) problems.push(`unexpected error: ${d.start.line}:${d.start.column}: ${d.message}`);
      else {
        if (!new RegExp(rx).test(d.message)) problems.push(`${d.start.line}:${d.start.column}: ${JSON.stringify(d.message)} does not match ${JSON.stringify(rx)}`);
        expected.delete(at);
      }
    }
    for (const [at, rx] of expected) problems.push(`not reported: byte ${at}: ${rx}`);
    expect(problems).toEqual([]);
  });
});

describe('upstream parser testdata: valid files', () => {
  const valid = readdirSync(join(dir, 'valid')).filter((f) => f.endsWith('.alloy'));
  it('has the vendored files', () => expect(valid.length).toBeGreaterThanOrEqual(3));
  it.each(valid)('%s parses without diagnostics', (f) => {
    expect(parseFile(f, readFileSync(join(dir, 'valid', f), 'utf8')).diags).toEqual([]);
  });
});
