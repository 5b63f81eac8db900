/**
 * Public API of the Alloy configuration syntax. Code outside `collector/src/syntax` imports only
 * from this module. See README.md for the stage layout.
 */
export type { Position, Diagnostic, Severity } from './diag/diag.js';
export { DiagnosticsError, formatDiagnostics, formatPosition, hasErrors, diagnostic } from './diag/diag.js';
export type { Token, BinaryOp, UnaryOp } from './scanner/token.js';
export { isValidIdentifier, quoteString, unquoteString } from './scanner/scanner.js';
export type * as ast from './ast/ast.js';
export { blockName, blockId } from './ast/ast.js';
export { parseFile, parseExpression } from './parser/parser.js';
export type { ParseResult, ExpressionResult } from './parser/parser.js';
