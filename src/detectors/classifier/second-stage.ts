/**
 * The optional second stage: a slower, stronger classifier asked only about the fields whose
 * classifier score is uncertain (in the tenant's `band`), in one batched call per message, with a
 * timeout and a declared failure mode. The pipeline's detectors are synchronous, so the caller awaits
 * {@link refineWithSecondStage} between detection and the verdict.
 *
 * Two back ends behind one interface: a tenant-run HTTPS endpoint (the JSON contract is in `README.md`
 * beside this file) and a Workers AI guard model through the Worker's `AI` binding.
 */
import { z } from 'zod'
import type { FieldRole, Finding, ScanField } from '../../inspect/types'
import { checkTargetUrl, type UrlPolicy } from '../../proxy/origin-url'
import { readCappedText } from '../../proxy/ingress'
import type { ClassifierPolicy, SecondStageConfig } from './config'
import { isClassifierFinding, type ClassifierFinding } from './detector'
import { normalize } from '../../inspect/normalize'
import { clipped } from '../../clip'
import { MIN_LENT_LENGTH } from '../../proxy/lent-secrets'

export const SECOND_STAGE_CONTRACT_VERSION = 1

export interface SecondStageItem {
  /** Unique within the call. */
  id: string
  text: string
  role: FieldRole
  /** The first stage's score (0..1), for the endpoint's own logging or thresholds. */
  score: number
}

/** A second-stage back end. Resolves with one probability of injection (0..1) per item, in order; rejects on any failure. */
export interface SecondStage {
  readonly kind: 'https' | 'workers-ai'
  classify(items: readonly SecondStageItem[], requestId: string): Promise<number[]>
}

export class SecondStageError extends Error {
  /**
   * `detail` is clipped to {@link DETAIL_MAX} characters: it can be a message the back end or the runtime
   * wrote, and the error goes into the `second_stage` log line.
   */
  constructor(
    readonly reason: 'timeout' | 'http-status' | 'bad-response' | 'network',
    detail: string,
  ) {
    super(`second stage ${reason}: ${clipped(detail, DETAIL_MAX)}`)
    this.name = 'SecondStageError'
  }
}

const Answer = z
  .object({
    results: z.array(z.object({ id: z.string(), injection: z.number().min(0).max(1) }).passthrough()).max(1000),
  })
  .passthrough()

const MAX_RESPONSE_BYTES = 256 * 1024
const DETAIL_MAX = 200

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
    async classify(items, requestId) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
      if (options.bearer) headers['authorization'] = `Bearer ${options.bearer}`
      const body = JSON.stringify({
        version: SECOND_STAGE_CONTRACT_VERSION,
        requestId,
        items: items.map((i) => ({ id: i.id, text: i.text, role: i.role, score: i.score })),
      })
      const signal = AbortSignal.timeout(options.timeoutMs)
      let res: Response
      try {
        res = await doFetch(target, { method: 'POST', headers, body, redirect: 'manual', signal })
      } catch (err) {
        if (signal.aborted) throw new SecondStageError('timeout', `no answer within ${options.timeoutMs} ms`)
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
        if (signal.aborted) throw new SecondStageError('timeout', `no answer within ${options.timeoutMs} ms`)
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

/** The part of the Workers AI binding this module uses (`env.AI`). */
export interface AiRunner {
  run(model: string, inputs: { messages: Array<{ role: string; content: string }> }): Promise<unknown>
}

/**
 * The Workers AI back end: one `run` of a guard model (default Llama Guard 3) per message, with every
 * uncertain field in one user turn; an `unsafe` verdict marks every item of the call. Llama Guard's
 * taxonomy is content safety (its categories include code-interpreter abuse, not prompt injection), so
 * it confirms harmful payloads better than subtle injections; an injection-specific model behind the
 * HTTPS contract is the stronger choice. Workers AI does not run locally: this path is exercised only
 * with a stub runner in tests.
 */
export function workersAiSecondStage(options: { ai: AiRunner; model: string; timeoutMs: number }): SecondStage {
  return {
    kind: 'workers-ai',
    async classify(items) {
      const content = items.map((i, k) => `[document ${k + 1}]\n${i.text}`).join('\n\n')
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SecondStageError('timeout', `no answer within ${options.timeoutMs} ms`)), options.timeoutMs)
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

export type SecondStageOutcome = 'skipped' | 'answered' | 'failed-open' | 'failed-closed'

export interface RefineResult {
  findings: Finding[]
  outcome: SecondStageOutcome
  /** How many fields were sent. */
  sent: number
  error?: string
}

/** What a refined classifier finding records about the second stage (for logs). */
export interface SecondStageNote {
  injection?: number
  outcome: SecondStageOutcome
}

/**
 * Sends the message's uncertain classifier findings (score in [lo, hi)) to the second stage in one
 * call and rewrites them:
 * - answered, injection ≥ 0.5: score becomes at least `injectionThreshold` (the field blocks);
 * - answered, injection < 0.5: score 0, action `flag` (kept for the log; no longer adds to a block);
 * - failed (timeout, HTTP error, malformed answer): `failMode: closed` as if answered "injection",
 *   `open` leaves the classifier's score as it was.
 * Findings outside the band, `flag`-only findings and other detectors' findings pass through unchanged.
 */
export async function refineWithSecondStage(
  findings: readonly Finding[],
  fields: readonly ScanField[] | ((f: Finding) => ScanField | undefined),
  policy: ClassifierPolicy,
  stage: SecondStage,
  options: {
    injectionThreshold: number
    requestId: string
    /**
     * What the firewall lent the origin for this client (its credential, the identity assertions): an
     * origin that echoes them must not have them sent on, as it must not have them shown to the client.
     */
    lent?: readonly string[]
  },
): Promise<RefineResult> {
  const cfg = policy.secondStage
  if (!cfg || !policy.enabled || policy.action !== 'block') return { findings: [...findings], outcome: 'skipped', sent: 0 }
  const [lo = 0.5, hi = 0.8] = cfg.band
  // The field each finding came from (a key and its value share a path: the pipeline knows which it was).
  let fieldOf: (f: Finding) => ScanField | undefined
  if (typeof fields === 'function') fieldOf = fields
  else {
    const byPath = new Map<string, ScanField>()
    for (const f of fields) if (!f.isKey) byPath.set(f.path, f)
    fieldOf = (f) => byPath.get(f.path)
  }

  const withheld = withheldValues(findings, fieldOf, options.lent)
  const picked: Array<{ index: number; finding: ClassifierFinding; item: SecondStageItem }> = []
  findings.forEach((f, index) => {
    if (!isClassifierFinding(f) || f.score < lo || f.score >= hi) return
    const field = fieldOf(f)
    if (!field) return
    picked.push({ index, finding: f, item: { id: String(picked.length), text: maskedExcerpt(field.normalized.text, f.textSpan, cfg.maxChars, withheld), role: field.role, score: f.score } })
  })
  if (picked.length === 0) return { findings: [...findings], outcome: 'skipped', sent: 0 }

  const out = [...findings]
  const block = (f: ClassifierFinding, note: SecondStageNote): Finding => ({ ...f, score: Math.max(f.score, options.injectionThreshold), secondStage: note }) as Finding
  try {
    const probs = await stage.classify(
      picked.map((p) => p.item),
      options.requestId,
    )
    picked.forEach((p, k) => {
      const injection = probs[k] as number
      out[p.index] =
        injection >= 0.5
          ? block(p.finding, { injection, outcome: 'answered' })
          : ({ ...p.finding, score: 0, action: 'flag', secondStage: { injection, outcome: 'answered' } } as Finding)
    })
    return { findings: out, outcome: 'answered', sent: picked.length }
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    if (cfg.failMode === 'closed') {
      for (const p of picked) out[p.index] = block(p.finding, { outcome: 'failed-closed' })
      return { findings: out, outcome: 'failed-closed', sent: picked.length, error }
    }
    for (const p of picked) out[p.index] = { ...p.finding, secondStage: { outcome: 'failed-open' } } as Finding
    return { findings: out, outcome: 'failed-open', sent: picked.length, error }
  }
}

/** Up to `max` characters of `text` centred on the classifier's best window. */
export function excerpt(text: string, span: [number, number], max: number): string {
  const [start, end] = excerptBounds(text.length, span, max)
  return text.slice(start, end)
}

function excerptBounds(length: number, span: [number, number], max: number): [number, number] {
  if (length <= max) return [0, length]
  const mid = (span[0] + span[1]) >> 1
  const end = Math.min(length, Math.max(0, mid - (max >> 1)) + max)
  return [Math.max(0, end - max), end]
}

/** Values never sent in clear, each with the kind its marker names, longest first. */
export type Withheld = ReadonlyArray<readonly [value: string, kind: Finding['kind']]>

/**
 * What the DLP rules found in a message, as the values to mask in a text sent out: every secret or PII
 * value a finding covers (as written and as normalised, since items carry normalised text) becomes
 * `[REDACTED:<kind>]`, whatever the finding's action. The second stage judges instructions, not
 * credentials, and a secret the client would get redacted must not leave for another service in clear.
 * So do the values in `lent` (what the firewall lent the origin, 8 characters or longer, as
 * src/proxy/lent-secrets.ts scrubs them): no rule pack knows them for secrets, and an origin may echo them.
 */
export function withheldValues(findings: readonly Finding[], fieldOf: (f: Finding) => ScanField | undefined, lent: readonly string[] = []): Withheld {
  const values = new Map<string, Finding['kind']>()
  for (const v of lent) if (v.length >= MIN_LENT_LENGTH) for (const w of [v, normalize(v).text]) if (w.length > 0) values.set(w, 'secret')
  for (const f of findings) {
    if ((f.kind !== 'secret' && f.kind !== 'pii') || !f.span) continue
    const raw = fieldOf(f)?.raw.slice(f.span[0], f.span[1])
    if (!raw) continue
    for (const v of [raw, normalize(raw).text]) if (v.length > 0) values.set(v, f.kind)
  }
  // Longest first, so a value that contains another is masked whole.
  return [...values].sort(([a], [b]) => b.length - a.length)
}

/**
 * `excerpt` with every withheld value masked. The window stops short of a value it would cut in two: the
 * part inside would no longer match the value, and most of a secret would go out in clear.
 * @example maskedExcerpt('key AKIA… here', [0, 14], 4000, [['AKIA…', 'secret']]) // 'key [REDACTED:secret] here'
 */
export function maskedExcerpt(text: string, span: [number, number], max: number, withheld: Withheld): string {
  let [start, end] = excerptBounds(text.length, span, max)
  if (withheld.length === 0) return text.slice(start, end)
  // Until nothing straddles an edge (moving one edge past a value can land it inside another).
  for (let moved = start > 0 || end < text.length; moved; ) {
    moved = false
    for (const [value] of withheld) {
      for (let at = text.indexOf(value, Math.max(0, start - value.length + 1)); at !== -1 && at < end; at = text.indexOf(value, at + 1)) {
        const stop = at + value.length
        const [s0, e0] = [start, end]
        if (at < start && stop > start) start = Math.min(stop, end)
        if (at < end && stop > end) end = Math.max(at, start)
        if (start !== s0 || end !== e0) moved = true
      }
    }
  }
  return withheld.reduce((t, [value, kind]) => t.split(value).join(`[REDACTED:${kind}]`), text.slice(start, end))
}

/**
 * A tenant's configured second stage (`policy.classifier.secondStage`). The bearer secret is read when the
 * first call needs it; a missing secret, a URL the rules refuse or a missing `AI` binding fails the call,
 * so the tenant's `failMode` decides, as for any other failure.
 */
export function tenantSecondStage(cfg: SecondStageConfig, deps: { urlPolicy: UrlPolicy; bearer: () => Promise<string | undefined>; ai: AiRunner | undefined }): SecondStage {
  if (cfg.workersAi) {
    if (deps.ai) return workersAiSecondStage({ ai: deps.ai, model: cfg.workersAi.model, timeoutMs: cfg.timeoutMs })
    return { kind: 'workers-ai', classify: () => Promise.reject(new SecondStageError('network', 'no AI binding in this Worker')) }
  }
  const url = cfg.url ?? ''
  return {
    kind: 'https',
    async classify(items, requestId) {
      const bearer = await deps.bearer()
      return httpsSecondStage({ url, timeoutMs: cfg.timeoutMs, urlPolicy: deps.urlPolicy, ...(bearer !== undefined ? { bearer } : {}) }).classify(items, requestId)
    },
  }
}
