/**
 * Public API of the Alloy configuration syntax. Code outside `collector/src/syntax` imports only
 * from this module. See README.md for the stage layout.
 */
export type { Position, Diagnostic, Severity } from './diag/diag.js';
export { DiagnosticsError, formatDiagnostics, formatPosition, hasErrors, diagnostic, MAX_SHOWN_DIAGNOSTICS, moreDiagnosticsLine } from './diag/diag.js';
export type { Token, BinaryOp, UnaryOp } from './scanner/token.js';
export { decodeSource, isValidIdentifier, quoteString, unquoteString } from './scanner/scanner.js';
export type * as ast from './ast/ast.js';
export { blockName, blockId } from './ast/ast.js';
export { parseFile, parseExpression, reparseFile, MAX_PARSE_ERRORS } from './parser/parser.js';
export type { ParseResult, ExpressionResult } from './parser/parser.js';
export type { Value, ValueObject, ValueType, AlloyFunction } from './vm/value.js';
export { Secret, asCapsule, capsuleTypeName, isPlainObject, typeOf, valuesEqual } from './vm/value.js';
export { Scope, UNBOUND } from './vm/scope.js';
export { evaluate, exprText, ArgError } from './vm/evaluate.js';
export { stdlibScope, stdlibIdentifiers, normalizeVersion, EXPERIMENTAL_STDLIB, DEPRECATED_STDLIB, type StdlibOptions } from './vm/stdlib.js';
export { sprintf } from './vm/go-format.js';
export { trimSet as goTrimSet } from './vm/stdlib.js';
export { goFloat } from './vm/go-format.js';
export { jsonPath } from './vm/json-path.js';
export { callsFunction, collectReferences } from './vm/references.js';
export type { Reference } from './vm/references.js';
export { valueToJSON, formatValue } from './vm/value-format.js';
export type { JSONValue } from './vm/value-format.js';
export {
  block,
  blocks,
  labelledBlocks,
  enumBlocks,
  duration,
  secret,
  optionalSecret,
  capsule,
  parseDuration,
  formatDuration,
  fieldMarker,
  objectShape,
  unwrapSchema,
  unsupported,
  unsupportedMessage,
} from './vm/schema.js';
export type { FieldKind, FieldMarker } from './vm/schema.js';
export { decodeBody, decodeBodyOrThrow } from './vm/decode.js';
export type { DecodeResult, DecodeOwner } from './vm/decode.js';
export { addMissingCommas, format, printFile, printExpr } from './printer/printer.js';
export type { FormatResult } from './printer/printer.js';
export { encodeValueJSON, encodeBodyJSON, encodeTypedJSON, plainOfBody, plainOfJSONValue } from './vm/alloy-json.js';
export type { AlloyJSONValue, AlloyJSONAttr, AlloyJSONBlock, AlloyJSONStatement } from './vm/alloy-json.js';
