// Types of the pure-JS `seek-bzip` package (it ships none): the part this folder uses.
declare module 'seek-bzip' {
  const Bunzip: { decode(input: Buffer | Uint8Array, output?: Buffer): Buffer };
  export default Bunzip;
}
