/**
 * Runs the bench origin in its own Node process, so serving answers never queues behind the load
 * generator's event loop (or the other way round). The child reports its URL over the IPC channel and
 * exits when the parent disconnects.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startOrigin } from './origin.js'
import { variantOf, variantText } from './payloads.js'

/** The origin as the parent sees it. */
export interface OriginProcess {
  readonly url: string
  /** The text content the origin returns for a size and request id (computed here: payloads are deterministic). */
  textFor(size: number, id: number): string
  close(): Promise<void>
}

const SELF = fileURLToPath(import.meta.url)

/** Forks this file as the origin process (inheriting tsx's loader) and waits for its URL. */
export async function startOriginProcess(sizes: readonly number[]): Promise<OriginProcess> {
  const child = fork(SELF, ['--serve', sizes.join(',')], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => (typeof m === 'string' ? resolve(m) : reject(new Error('origin: bad hello'))))
    child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)))
  })
  return {
    url,
    textFor: (size, id) => variantText(size, variantOf(id)).content[0]?.text ?? '',
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.disconnect()
      }),
  }
}

if (process.argv[1] === SELF && process.argv[2] === '--serve' && process.send) {
  const sizes = (process.argv[3] ?? '').split(',').map(Number)
  const origin = await startOrigin(sizes)
  process.send(origin.url)
  process.once('disconnect', () => void origin.close().finally(() => process.exit(0)))
}
