/**
 * The second stage as a Workers AI guard model, run through the Worker's `AI` binding (`README.md` beside
 * this file, "Workers AI"). It answers safe or unsafe for a whole call, not a probability per field.
 */
import { SecondStageError, type SecondStage } from './second-stage-backend'

/** The part of the Workers AI binding this module uses (`env.AI`). */
export interface AiRunner {
  run(model: string, inputs: { messages: Array<{ role: string; content: string }> }): Promise<unknown>
}

/**
 * The Workers AI back end: one `run` of a guard model (default Llama Guard 3) per call, with every
 * field of the call in one user turn; an `unsafe` verdict marks every item of the call. Llama Guard's
 * taxonomy is content safety (its categories include code-interpreter abuse, not prompt injection), so
 * it confirms harmful payloads better than subtle injections; an injection-specific model behind the
 * HTTPS contract is the stronger choice. Workers AI does not run locally: this path is exercised only
 * with a stub runner in tests.
 */
export function workersAiSecondStage(options: { ai: AiRunner; model: string; timeoutMs: number }): SecondStage {
  return {
    kind: 'workers-ai',
    async classify(items, _requestId, limitMs) {
      const timeoutMs = Math.min(options.timeoutMs, limitMs ?? options.timeoutMs)
      const content = items.map((i, k) => `[document ${k + 1}]\n${i.text}`).join('\n\n')
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SecondStageError('timeout', `no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      let out: unknown
      try {
        out = await Promise.race([options.ai.run(options.model, { messages: [{ role: 'user', content }] }), timeout])
      } catch (err) {
        if (err instanceof SecondStageError) throw err
        throw new SecondStageError('network', err instanceof Error ? err.message : String(err))
      } finally {
        if (timer !== undefined) clearTimeout(timer)
      }
      const unsafe = guardVerdict(out)
      return items.map(() => (unsafe ? 1 : 0))
    },
  }
}

function guardVerdict(out: unknown): boolean {
  const response = typeof out === 'object' && out !== null ? (out as { response?: unknown }).response : undefined
  if (typeof response === 'object' && response !== null && typeof (response as { safe?: unknown }).safe === 'boolean') {
    return !(response as { safe: boolean }).safe
  }
  if (typeof response === 'string') {
    const v = response.trim().toLowerCase()
    if (v.startsWith('unsafe')) return true
    if (v.startsWith('safe')) return false
  }
  throw new SecondStageError('bad-response', 'guard model answer has no verdict')
}
