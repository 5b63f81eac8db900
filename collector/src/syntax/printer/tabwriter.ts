/**
 * Elastic tabstops, as Go's text/tabwriter configured by Alloy's printer (minwidth 0, tabwidth
 * 8, padding 1, pad with spaces, DiscardEmptyColumns | TabIndent), followed by trimming of
 * trailing blanks. Input protocol:
 *   '\t' ends a cell (indentation and trailing-comment columns), '\v' ends a cell (alignment),
 *   '\n' ends a line, '\f' ends a line and every open column block,
 *   ESC ... ESC brackets text passed through verbatim (comments, raw strings).
 * A line without any cell terminator also ends every open column block (as in Go).
 */
export const ESC = '\u0001';

interface Cell {
  text: string;
  width: number;
  htab: boolean;
}

type Line = Cell[];

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c < 0xe000) continue; // low surrogate
    n++;
  }
  return n;
}

export function tabwrite(input: string): string {
  const out: string[] = [];
  let lines: Line[] = [];
  let cur: Line = [];
  let text = '';
  let width = 0;
  let escaped = false;
  let segStart = 0;

  const flush = (): void => {
    format(lines, out);
    lines = [];
  };

  const n = input.length;
  let i = 0;
  while (i < n) {
    if (escaped) {
      let j = input.indexOf(ESC, i);
      if (j < 0) j = n;
      const seg = input.slice(segStart, j);
      text += ESC + seg + ESC;
      width += runeCount(seg);
      escaped = false;
      i = j + 1;
      continue;
    }
    // Copy a run of ordinary characters in one slice.
    let j = i;
    while (j < n) {
      const c = input.charCodeAt(j);
      if (c === 1 || c === 9 || c === 10 || c === 11 || c === 12) break;
      j++;
    }
    if (j > i) {
      const seg = input.slice(i, j);
      text += seg;
      width += runeCount(seg);
      i = j;
      if (i >= n) break;
    }
    const ch = input[i]!;
    i++;
    switch (ch) {
      case ESC:
        escaped = true;
        segStart = i;
        break;
      case '\t':
      case '\v':
        cur.push({ text, width, htab: ch === '\t' });
        text = '';
        width = 0;
        break;
      default: {
        // '\n' or '\f'
        cur.push({ text, width, htab: false });
        const ncells = cur.length;
        lines.push(cur);
        cur = [];
        text = '';
        width = 0;
        if (ch === '\f' || ncells === 1) flush();
      }
    }
  }
  cur.push({ text, width, htab: false });
  lines.push(cur);
  format(lines, out, true);
  return trimTrailing(out.join(''));
}

function format(lines: Line[], out: string[], last = false): void {
  const widths: number[] = [];
  const rec = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t]!.length - 1) continue;
      writeLines(lines, line0, t, widths, out, last);
      line0 = t;
      let w = 0;
      let discardable = true;
      for (; t < line1; t++) {
        const line = lines[t]!;
        if (column >= line.length - 1) break;
        const c = line[column]!;
        if (c.width + 1 > w) w = c.width + 1;
        if (c.width > 0 || c.htab) discardable = false;
      }
      if (discardable) w = 0;
      widths.push(w);
      rec(line0, t);
      widths.pop();
      line0 = t;
      t--; // the outer loop's t++ resumes at the line that ended the block
    }
    writeLines(lines, line0, line1, widths, out, last);
  };
  rec(0, lines.length);
}

function writeLines(lines: Line[], line0: number, line1: number, widths: number[], out: string[], last: boolean): void {
  for (let i = line0; i < line1; i++) {
    const line = lines[i]!;
    let useTabs = true;
    for (let j = 0; j < line.length; j++) {
      const c = line[j]!;
      if (c.width === 0 && c.text === '') {
        if (j < widths.length) out.push(padding(0, widths[j]!, useTabs));
      } else {
        useTabs = false;
        out.push(c.text);
        if (j < widths.length) out.push(padding(c.width, widths[j]!, false));
      }
    }
    if (!(last && i === lines.length - 1)) out.push('\n');
  }
}

function padding(textw: number, cellw: number, useTabs: boolean): string {
  if (useTabs) {
    const cw = Math.ceil(cellw / 8) * 8;
    const n = cw - textw;
    return '\t'.repeat(Math.ceil(n / 8));
  }
  return ' '.repeat(Math.max(0, cellw - textw));
}

/** Removes trailing spaces and tabs from every line, except inside ESC brackets; drops the ESCs. */
function trimTrailing(s: string): string {
  if (s.indexOf(ESC) < 0) return s.replace(/[ \t]+$/gm, '');
  const parts: string[] = [];
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf(ESC, i);
    const plainEnd = open < 0 ? s.length : open;
    parts.push(s.slice(i, plainEnd).replace(/[ \t]+(?=\n)/g, '').replace(open < 0 ? /[ \t]+$/ : /$^/, ''));
    if (open < 0) break;
    const close = s.indexOf(ESC, open + 1);
    const litEnd = close < 0 ? s.length : close;
    parts.push(s.slice(open + 1, litEnd));
    i = litEnd + 1;
  }
  return parts.join('');
}
