/** `.wasm` imports: wrangler bundles them as compiled WebAssembly modules (its default module rules). */
declare module '*.wasm' {
  const module: WebAssembly.Module
  export default module
}
