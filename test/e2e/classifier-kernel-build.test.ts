/** The committed classifier kernel is what its WebAssembly text assembles to (`npm run build:kernel`). */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { assembleKernel, KERNEL_WASM } from '../../scripts/build-kernel'

describe('classifier kernel build', () => {
  it('kernel.wasm is kernel.wat assembled', async () => {
    const built = await assembleKernel()
    expect(built.length).toBeGreaterThan(1000)
    expect(Buffer.compare(built, readFileSync(KERNEL_WASM)), 'run npm run build:kernel').toBe(0)
  })
})
