/**
 * The second stage as a tenant-run HTTPS endpoint: one POST per call with the fields as JSON, and the
 * answer parsed against the contract (`README.md` beside this file, "HTTPS contract (version 1)"). Any failure, a
 * timeout, an HTTP error or an answer off the contract, rejects the call as a {@link SecondStageError}.
 */
import { z } from 'zod'
import { checkTargetUrl, type UrlPolicy } from '../../proxy/origin-url'
import { readCappedText } from '../../proxy/ingress'
import { SecondStageError, type SecondStage } from './second-stage-backend'

export const SECOND_STAGE_CONTRACT_VERSION = 1

const Answer = z
  .object({
    results: z.array(z.object({ id: z.string(), injection: z.number().min(0).max(1) }).passthrough()).max(1000),
  })
  .passthrough()

const MAX_RESPONSE_BYTES = 256 * 1024

export interface HttpsSecondStageOptions {
  url: string
  timeoutMs: number
  /** Sent as `Authorization: Bearer <value>` (the tenant secret named in the config, resolved by the caller). */
  bearer?: string
  /** The same target rules as origins: https only, no private hosts (unless local development allows them). */
  urlPolicy: UrlPolicy
  fetch?: typeof fetch
}

/**
 * The HTTPS back end. Refuses to build for a URL the origin rules reject; never follows redirects.
 * @example httpsSecondStage({ url: 'https://guard.vendor.example/v1/classify', timeoutMs: 800, urlPolicy })
 */
export function httpsSecondStage(options: HttpsSecondStageOptions): SecondStage {
  const checked = checkTargetUrl(options.url, options.urlPolicy)
  if (!checked.ok) throw new Error(`second-stage url rejected: ${checked.reason}`)
  const target = checked.url.toString()
  const doFetch = options.fetch ?? fetch
  return {
    kind: 'https',
    async classify(items, requestId, limitMs) {
      const timeoutMs = Math.min(options.timeoutMs, limitMs ?? options.timeoutMs)
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
      if (options.bearer) headers['authorization'] = `Bearer ${options.bearer}`
      const body = JSON.stringify({
        version: SECOND_STAGE_CONTRACT_VERSION,
        requestId,
        items: items.map((i) => ({ id: i.id, text: i.text, role: i.role, score: i.score })),
      })
      const signal = AbortSignal.timeout(timeoutMs)
      let res: Response
      try {
        res = await doFetch(target, { method: 'POST', headers, body, redirect: 'manual', signal })
      } catch (err) {
        if (signal.aborted) throw new SecondStageError('timeout', `no answer within ${timeoutMs} ms`)
        throw new SecondStageError('network', err instanceof Error ? err.message : String(err))
      }
      let text: string
      try {
        if (res.status < 200 || res.status > 299) {
          await res.body?.cancel()
          throw new SecondStageError('http-status', String(res.status))
        }
        text = await readCappedText(res, MAX_RESPONSE_BYTES, () => new SecondStageError('bad-response', `response larger than ${MAX_RESPONSE_BYTES} bytes`))
      } catch (err) {
        if (err instanceof SecondStageError) throw err
        if (signal.aborted) throw new SecondStageError('timeout', `no answer within ${timeoutMs} ms`)
        throw new SecondStageError('network', err instanceof Error ? err.message : String(err))
      }
      let parsed: z.infer<typeof Answer>
      try {
        parsed = Answer.parse(JSON.parse(text))
      } catch {
        throw new SecondStageError('bad-response', 'not the contract JSON')
      }
      const byId = new Map<string, number>()
      for (const r of parsed.results) {
        if (byId.has(r.id)) throw new SecondStageError('bad-response', 'an id answered twice') // the id is the back end's text
        byId.set(r.id, r.injection)
      }
      return items.map((i) => {
        const p = byId.get(i.id)
        if (p === undefined) throw new SecondStageError('bad-response', `no result for id ${i.id}`)
        return p
      })
    },
  }
}
