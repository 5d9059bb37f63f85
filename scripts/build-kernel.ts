/**
 * Assembles the classifier kernel: src/detectors/classifier/kernel.wat → kernel.wasm (committed, since
 * Workers load WebAssembly only as a bundled module). `npm run build:kernel` after editing the .wat;
 * test/e2e/classifier-kernel-build.test.ts fails while the two disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'

export const KERNEL_WAT = fileURLToPath(new URL('../src/detectors/classifier/kernel.wat', import.meta.url))
export const KERNEL_WASM = fileURLToPath(new URL('../src/detectors/classifier/kernel.wasm', import.meta.url))

/** The binary the .wat assembles to (no names section: the bytes depend only on the code). */
export async function assembleKernel(): Promise<Buffer> {
  const wabt = await wabtInit()
  const module = wabt.parseWat('kernel.wat', readFileSync(KERNEL_WAT, 'utf8'))
  try {
    module.validate()
    return Buffer.from(module.toBinary({ write_debug_names: false }).buffer)
  } finally {
    module.destroy()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await assembleKernel()
  writeFileSync(KERNEL_WASM, bytes)
  console.log(`wrote src/detectors/classifier/kernel.wasm (${bytes.length} bytes)`)
}
