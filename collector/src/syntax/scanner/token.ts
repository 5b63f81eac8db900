/**
 * Token kinds of the Alloy syntax. `TERMINATOR` is a statement end: a newline the scanner inserts
 * after a token that can end a statement (identifier, literal, `)`, `]`, `}`), as Go does.
 */
export type Token =
  | 'ILLEGAL'
  | 'EOF'
  | 'COMMENT'
  | 'IDENT'
  | 'STRING'
  | 'NUMBER'
  | 'FLOAT'
  | 'BOOL'
  | 'NULL'
  | 'OR'
  | 'AND'
  | 'NOT'
  | 'ASSIGN'
  | 'EQ'
  | 'NEQ'
  | 'LT'
  | 'LTE'
  | 'GT'
  | 'GTE'
  | 'ADD'
  | 'SUB'
  | 'MUL'
  | 'DIV'
  | 'MOD'
  | 'POW'
  | 'LCURLY'
  | 'RCURLY'
  | 'LPAREN'
  | 'RPAREN'
  | 'LBRACK'
  | 'RBRACK'
  | 'COMMA'
  | 'DOT'
  | 'TERMINATOR';

export type BinaryOp = 'OR' | 'AND' | 'EQ' | 'NEQ' | 'LT' | 'LTE' | 'GT' | 'GTE' | 'ADD' | 'SUB' | 'MUL' | 'DIV' | 'MOD' | 'POW';
export type UnaryOp = 'NOT' | 'SUB';

const TEXT: Partial<Record<Token, string>> = {
  OR: '||',
  AND: '&&',
  NOT: '!',
  ASSIGN: '=',
  EQ: '==',
  NEQ: '!=',
  LT: '<',
  LTE: '<=',
  GT: '>',
  GTE: '>=',
  ADD: '+',
  SUB: '-',
  MUL: '*',
  DIV: '/',
  MOD: '%',
  POW: '^',
  LCURLY: '{',
  RCURLY: '}',
  LPAREN: '(',
  RPAREN: ')',
  LBRACK: '[',
  RBRACK: ']',
  COMMA: ',',
  DOT: '.',
};

/** Source text of an operator or punctuation token; the kind name for other tokens. */
export function tokenText(t: Token): string {
  return TEXT[t] ?? t;
}

/** Binary precedence as in Alloy: `||` 1, `&&` 2, comparisons 3, `+ -` 4, `* / %` 5, `^` 6. 0 = not binary. */
export function binaryPrecedence(t: Token): number {
  switch (t) {
    case 'OR':
      return 1;
    case 'AND':
      return 2;
    case 'EQ':
    case 'NEQ':
    case 'LT':
    case 'LTE':
    case 'GT':
    case 'GTE':
      return 3;
    case 'ADD':
    case 'SUB':
      return 4;
    case 'MUL':
    case 'DIV':
    case 'MOD':
      return 5;
    case 'POW':
      return 6;
    default:
      return 0;
  }
}
