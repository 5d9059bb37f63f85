/**
 * The optional second stage: a slower, stronger classifier asked only about the fields whose
 * classifier score is uncertain (in the tenant's `band`), in batched calls of bounded size, within a
 * budget of calls and waiting time per client request, with a timeout and a declared failure mode. The
 * pipeline's detectors are synchronous, so the caller awaits {@link refineWithSecondStage} between
 * detection and the verdict.
 *
 * Two back ends behind one interface (second-stage-backend.ts): a tenant-run HTTPS endpoint
 * (second-stage-https.ts; the JSON contract is in `README.md` beside this file) and a Workers AI guard
 * model through the Worker's `AI` binding (second-stage-workers-ai.ts). The bounds and the request's
 * budget are in second-stage-budget.ts, what a field is sent as in second-stage-excerpt.ts, the breaker that
 * stops calls to a back end that keeps failing in second-stage-breaker.ts.
 */
import type { FieldRole, Finding, ScanField } from '../../inspect/types'
import type { UrlPolicy } from '../../proxy/origin-url'
import type { ClassifierPolicy, SecondStageConfig } from './config'
import { isClassifierFinding, type ClassifierFinding } from './detector'
import type { FirewallRuleId } from '../../inspect/rule-ids'
import { SecondStageError, type SecondStage } from './second-stage-backend'
import { SECOND_STAGE_LIMITS, SecondStageBudget } from './second-stage-budget'
import { httpsSecondStage } from './second-stage-https'
import { workersAiSecondStage, type AiRunner } from './second-stage-workers-ai'
import { maskedExcerpt, withheldValues } from './second-stage-excerpt'
import { secondStageBreaker } from './second-stage-breaker'

/**
 * The rule id of a classifier finding the second stage could not judge under `failMode: "closed"` (the call
 * failed, or the request's budget was spent): it blocks as an injection would, but an outage of the guard
 * must not read as an attack in the security events, alerts and `ruleIds`.
 */
export const SECOND_STAGE_UNAVAILABLE_RULE_ID = 'classifier-second-stage-unavailable' satisfies FirewallRuleId

export type SecondStageOutcome = 'skipped' | 'answered' | 'failed-open' | 'failed-closed'

export interface RefineResult {
  findings: Finding[]
  /** `failed-*` when any call failed or fields were left unasked (the budget), else `answered` (or `skipped`: nothing to ask). */
  outcome: SecondStageOutcome
  /** How many fields were sent. */
  sent: number
  /** How many uncertain fields got the `failMode` outcome unasked: the request's budget spent, or the back end's breaker open. */
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
 * - failed (timeout, HTTP error, malformed answer) or left unasked (`budget` spent, `stage.breaker` open): `failMode: closed`
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
    // The breaker first: a call it refuses is not made, so it spends none of the request's budget.
    const admitted = stage.breaker?.admit() ?? { go: true }
    if (!admitted.go) {
      error ??= new SecondStageError('circuit-open', admitted.why).message
      unsent += batch.length
      failed(batch)
      continue
    }
    const call = budget.take()
    if ('spent' in call) {
      stage.breaker?.released()
      error ??= new SecondStageError('budget', call.spent).message
      unsent += batch.length
      failed(batch)
      continue
    }
    sent += batch.length
    try {
      const items = batch.map((p, k) => ({ id: String(k), text: p.text, role: p.role, score: p.finding.score }))
      const probs = await stage.classify(items, options.requestId, call.timeoutMs)
      stage.breaker?.succeeded()
      batch.forEach((p, k) => {
        const injection = probs[k] as number
        out[p.index] =
          injection >= 0.5
            ? block(p.finding, { injection, outcome: 'answered' })
            : ({ ...p.finding, score: 0, action: 'flag', secondStage: { injection, outcome: 'answered' } } as Finding)
      })
    } catch (err) {
      stage.breaker?.failed()
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

/**
 * A tenant's configured second stage (`policy.classifier.secondStage`). The bearer secret is read when the
 * first call needs it; a missing secret, a URL the rules refuse or a missing `AI` binding fails the call,
 * so the tenant's `failMode` decides, as for any other failure. The stage carries the isolate's breaker for
 * the tenant's back end under this config version (second-stage-breaker.ts).
 */
export function tenantSecondStage(
  cfg: SecondStageConfig,
  deps: { tenantId: string; configVersion: number; urlPolicy: UrlPolicy; bearer: () => Promise<string | undefined>; ai: AiRunner | undefined },
): SecondStage {
  const breakerOf = (backend: string) => secondStageBreaker({ tenantId: deps.tenantId, configVersion: deps.configVersion, backend })
  if (cfg.workersAi) {
    const breaker = breakerOf(`workers-ai ${cfg.workersAi.model}`)
    if (deps.ai) return { ...workersAiSecondStage({ ai: deps.ai, model: cfg.workersAi.model, timeoutMs: cfg.timeoutMs }), breaker }
    return { kind: 'workers-ai', breaker, classify: () => Promise.reject(new SecondStageError('network', 'no AI binding in this Worker')) }
  }
  const url = cfg.url ?? ''
  return {
    kind: 'https',
    breaker: breakerOf(`https ${url}`),
    async classify(items, requestId, limitMs) {
      const bearer = await deps.bearer()
      return httpsSecondStage({ url, timeoutMs: cfg.timeoutMs, urlPolicy: deps.urlPolicy, ...(bearer !== undefined ? { bearer } : {}) }).classify(items, requestId, limitMs)
    },
  }
}
