// Types of the pure-JS `snappyjs` package (it ships none).
declare module 'snappyjs' {
  export function compress(input: Uint8Array): Uint8Array;
  /** Not used on untrusted input: it does not bound-check its output. */
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}
