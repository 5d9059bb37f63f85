/**
 * The optional second stage: a slower, stronger classifier asked only about the fields whose
 * classifier score is uncertain (in the tenant's `band`), in batched calls of bounded size, within a
 * budget of calls and waiting time per client request, with a timeout and a declared failure mode. The
 * pipeline's detectors are synchronous, so the caller awaits {@link refineWithSecondStage} between
 * detection and the verdict.
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
import type { FirewallRuleId } from '../../inspect/rule-ids'

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
  /** `timeoutMs`: this call's timeout when shorter than the configured one (what is left of the request's budget). */
  classify(items: readonly SecondStageItem[], requestId: string, timeoutMs?: number): Promise<number[]>
}

/**
 * The rule id of a classifier finding the second stage could not judge under `failMode: "closed"` (the call
 * failed, or the request's budget was spent): it blocks as an injection would, but an outage of the guard
 * must not read as an attack in the security events, alerts and `ruleIds`.
 */
export const SECOND_STAGE_UNAVAILABLE_RULE_ID = 'classifier-second-stage-unavailable' satisfies FirewallRuleId

/**
 * Bounds on the second stage (src/detectors/classifier/README.md, "Bounds"). One call carries at most
 * `itemsPerCall` fields and `charsPerCall` characters of their text (a message with more uncertain fields
 * is split, the highest-scoring fields first), so a call's body and its answer stay small and well inside
 * the answer parser's 1000 results. One client request (a POST and its answer, JSON or a stream, or a GET
 * stream) makes at most `callsPerRequest` calls and waits for them at most `timeoutsPerRequest` times the
 * tenant's `timeoutMs` in all: without it, a batch or a stream of N uncertain messages took N timeouts and
 * N outbound calls, against the Worker's subrequest limit. Fields past either bound get the `failMode`
 * outcome without a call, as a timeout would give them.
 */
export const SECOND_STAGE_LIMITS = { itemsPerCall: 32, charsPerCall: 128 * 1024, callsPerRequest: 16, timeoutsPerRequest: 4 } as const

/** A call shorter than this is not worth making: the shortest `timeoutMs` a config may set. */
const MIN_CALL_MS = 50

/**
 * What one client request may still spend on the second stage: calls, and milliseconds of waiting for
 * them. Each call reserves its timeout (at most the tenant's, at most what is left) and gives back what it
 * did not use, so calls made at the same time cannot overdraw it.
 */
export class SecondStageBudget {
  #calls: number = SECOND_STAGE_LIMITS.callsPerRequest
  #ms: number

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#ms = timeoutMs * SECOND_STAGE_LIMITS.timeoutsPerRequest
  }

  /** One call's timeout and the function to call when it settles, or why no call is left. */
  take(): { timeoutMs: number; settle: () => void } | { spent: string } {
    if (this.#calls <= 0) return { spent: `${SECOND_STAGE_LIMITS.callsPerRequest} calls per request spent` }
    const timeoutMs = Math.min(this.timeoutMs, Math.floor(this.#ms))
    if (timeoutMs < MIN_CALL_MS) return { spent: `${this.timeoutMs * SECOND_STAGE_LIMITS.timeoutsPerRequest} ms per request spent` }
    this.#calls -= 1
    this.#ms -= timeoutMs
    const started = this.now()
    let settled = false
    return {
      timeoutMs,
      settle: () => {
        if (settled) return
        settled = true
        this.#ms += timeoutMs - Math.min(timeoutMs, Math.max(0, this.now() - started))
      },
    }
  }
}

export class SecondStageError extends Error {
  /**
   * `detail` is clipped to {@link DETAIL_MAX} characters: it can be a message the back end or the runtime
   * wrote, and the error goes into the `second_stage` log line.
   */
  constructor(
    readonly reason: 'timeout' | 'http-status' | 'bad-response' | 'network' | 'budget',
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

export type SecondStageOutcome = 'skipped' | 'answered' | 'failed-open' | 'failed-closed'

export interface RefineResult {
  findings: Finding[]
  /** `failed-*` when any call failed or fields were left unasked (the budget), else `answered` (or `skipped`: nothing to ask). */
  outcome: SecondStageOutcome
  /** How many fields were sent. */
  sent: number
  /** How many uncertain fields got the `failMode` outcome unasked, the request's budget spent. */
  unsent?: number
  /** The first failure. */
  error?: string
}

/** What a refined classifier finding records about the second stage (for logs). */
export interface SecondStageNote {
  injection?: number
  outcome: SecondStageOutcome
}

/**
 * Sends the message's uncertain classifier findings (score in [lo, hi)) to the second stage and rewrites
 * them:
 * - answered, injection ≥ 0.5: score becomes at least `injectionThreshold` (the field blocks);
 * - answered, injection < 0.5: score 0, action `flag` (kept for the log; no longer adds to a block);
 * - failed (timeout, HTTP error, malformed answer) or left unasked (`budget` spent): `failMode: closed`
 *   blocks as an injection would, under rule id {@link SECOND_STAGE_UNAVAILABLE_RULE_ID}; `open` leaves
 *   the classifier's score as it was.
 * The fields go highest-scoring first, in calls of at most {@link SECOND_STAGE_LIMITS} `itemsPerCall`
 * fields and `charsPerCall` characters, each taken from `budget` (the client request's; a fresh one when
 * absent). Findings outside the band, `flag`-only findings and other detectors' findings pass through unchanged.
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
    /** What the client request may still spend on the second stage, shared by all its messages. */
    budget?: SecondStageBudget
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
  const picked: Array<{ index: number; finding: ClassifierFinding; text: string; role: FieldRole }> = []
  findings.forEach((f, index) => {
    if (!isClassifierFinding(f) || f.score < lo || f.score >= hi) return
    const field = fieldOf(f)
    if (!field) return
    picked.push({ index, finding: f, text: maskedExcerpt(field.normalized.text, f.textSpan, cfg.maxChars, withheld), role: field.role })
  })
  if (picked.length === 0) return { findings: [...findings], outcome: 'skipped', sent: 0 }
  // Closest to the threshold first: when the budget runs out, the fields left are the least suspect.
  picked.sort((a, b) => b.finding.score - a.finding.score)

  const out = [...findings]
  const block = (f: ClassifierFinding, note: SecondStageNote): Finding => ({ ...f, score: Math.max(f.score, options.injectionThreshold), secondStage: note }) as Finding
  const failed = (batch: typeof picked) => {
    for (const p of batch) {
      out[p.index] = cfg.failMode === 'closed' ? { ...block(p.finding, { outcome: 'failed-closed' }), ruleId: SECOND_STAGE_UNAVAILABLE_RULE_ID } : ({ ...p.finding, secondStage: { outcome: 'failed-open' } } as Finding)
    }
  }
  const budget = options.budget ?? new SecondStageBudget(cfg.timeoutMs)
  let sent = 0
  let unsent = 0
  let error: string | undefined
  for (const batch of calls(picked)) {
    const call = budget.take()
    if ('spent' in call) {
      error ??= new SecondStageError('budget', call.spent).message
      unsent += batch.length
      failed(batch)
      continue
    }
    sent += batch.length
    try {
      const items = batch.map((p, k) => ({ id: String(k), text: p.text, role: p.role, score: p.finding.score }))
      const probs = await stage.classify(items, options.requestId, call.timeoutMs)
      batch.forEach((p, k) => {
        const injection = probs[k] as number
        out[p.index] =
          injection >= 0.5
            ? block(p.finding, { injection, outcome: 'answered' })
            : ({ ...p.finding, score: 0, action: 'flag', secondStage: { injection, outcome: 'answered' } } as Finding)
      })
    } catch (err) {
      error ??= err instanceof Error ? err.message : String(err)
      failed(batch)
    } finally {
      call.settle()
    }
  }
  const outcome: SecondStageOutcome = error === undefined ? 'answered' : cfg.failMode === 'closed' ? 'failed-closed' : 'failed-open'
  return { findings: out, outcome, sent, ...(unsent > 0 ? { unsent } : {}), ...(error !== undefined ? { error } : {}) }
}

/** `picked` cut into calls within {@link SECOND_STAGE_LIMITS} (a field longer than `charsPerCall` would still go alone; `maxChars` keeps it shorter). */
function calls<T extends { text: string }>(picked: readonly T[]): T[][] {
  const out: T[][] = []
  let batch: T[] = []
  let chars = 0
  for (const p of picked) {
    if (batch.length > 0 && (batch.length >= SECOND_STAGE_LIMITS.itemsPerCall || chars + p.text.length > SECOND_STAGE_LIMITS.charsPerCall)) {
      out.push(batch)
      batch = []
      chars = 0
    }
    batch.push(p)
    chars += p.text.length
  }
  if (batch.length > 0) out.push(batch)
  return out
}

/** [start, end) of up to `max` characters of a text `length` long, centred on the classifier's best window. */
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
 * Up to `max` characters of `text` centred on the classifier's best window, with every withheld value
 * masked. The window stops short of a value it would cut in two: the part inside would no longer match
 * the value, and most of a secret would go out in clear.
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
    async classify(items, requestId, limitMs) {
      const bearer = await deps.bearer()
      return httpsSecondStage({ url, timeoutMs: cfg.timeoutMs, urlPolicy: deps.urlPolicy, ...(bearer !== undefined ? { bearer } : {}) }).classify(items, requestId, limitMs)
    },
  }
}
