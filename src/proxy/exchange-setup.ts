/**
 * The parts a request's exchange is judged with under one version of its tenant's config: the inspection
 * policy, the classifier's second stage, the tool gate and the budget meter. An open stream (which may stay
 * open for hours) and a call held for its user's confirmation get them again from a newer version, built
 * here the same way a new request's are, so a config change means the same to a message whether it came on
 * a new request or on one already open.
 */
import { FirewallError } from '../errors'
import type { Problem } from '../errors'
import { compilePolicy } from '../inspect/policy'
import type { CompiledPolicy } from '../inspect/policy'
import { EventSink } from '../audit/sink'
import { loadTenant } from '../tenant/store'
import type { LoadedTenant } from '../tenant/store'
import { urlPolicy } from './url-policy-env'
import { Exchange } from './exchange'
import { tenantSecondStage } from '../detectors/classifier/second-stage'
import { SecondStageError, type SecondStage } from '../detectors/classifier/second-stage-backend'
import type { AiRunner } from '../detectors/classifier/second-stage-workers-ai'
import { keyring } from '../auth/master-key'
import { kvAuthStore } from '../auth/storage'
import { cachedSecret } from '../auth/origin-credential'
import { toolGateFor } from '../tools/endpoint'
import type { ToolGate } from '../tools/gate'
import { BudgetMeter } from '../budget/enforce'
import type { AuthedRequest } from './mcp-endpoint'

/** JSON nesting the firewall accepts in either direction; deeper bodies are refused, not parsed. */
export const MAX_JSON_DEPTH = 64

export function newExchange(r: AuthedRequest, era: 'legacy' | 'modern', originUrl?: URL): Exchange {
  const { tenant } = r
  const sessionId = r.sessionId
  const policy = compilePolicy(tenant.id, tenant.record.version, tenant.record.config)
  const exchange = new Exchange({
    tenantId: tenant.id,
    configVersion: tenant.record.version,
    requestId: r.requestId,
    era,
    ...(sessionId ? { sessionId } : {}),
    ...(r.auth.identity !== undefined ? { identity: r.auth.identity } : {}),
    policy,
    sink: new EventSink(r.env, tenant.id, r.waitUntil),
    killedTools: r.killedTools ?? [],
    lent: r.auth.lent,
  })
  const stage = secondStageFor(r, tenant.record, policy)
  if (stage) exchange.init.secondStage = stage
  const gate = originUrl ? gateFor(r, exchange, tenant.record, policy, originUrl) : null
  if (gate) exchange.init.tools = gate
  // Token and request budgets (src/budget): a tenant without one gets no meter and pays nothing.
  const meter = meterFor(r, tenant.record)
  if (meter) exchange.init.meter = meter
  return exchange
}

/** The classifier's second opinion on uncertain fields under one config version (src/detectors/classifier/second-stage.ts). */
function secondStageFor(r: AuthedRequest, record: LoadedTenant['record'], policy: CompiledPolicy): SecondStage | undefined {
  const stage = record.config.policy.classifier.secondStage
  if (!stage || !policy.classifier.enabled || policy.classifier.action !== 'block') return undefined
  return tenantSecondStage(stage, {
    tenantId: r.tenant.id,
    configVersion: record.version,
    urlPolicy: urlPolicy(r.env, new URL(r.request.url).hostname, record.config.hosts),
    bearer: () => secondStageBearer(r.env, r.tenant.id, stage.secret),
    ai: (r.env as { AI?: AiRunner }).AI,
  })
}

/**
 * Tool integrity (src/tools) under one config version: pins, access lists, schema checks, call approvals.
 * `originUrl`: the gate may list the origin's tools itself. The pins are those of the origin the request
 * was sent to, the one its config named when it arrived, whichever version the settings come from.
 */
function gateFor(r: AuthedRequest, exchange: Exchange, record: LoadedTenant['record'], policy: CompiledPolicy, originUrl: URL): ToolGate | null {
  const { era, sessionId, sink } = exchange.init
  const tenant = record === r.tenant.record ? r.tenant : { id: r.tenant.id, record: { ...record, config: { ...record.config, origin: r.tenant.record.config.origin } } }
  return toolGateFor({ env: r.env, tenant, requestId: r.requestId, era, ...(r.auth.identity !== undefined ? { identity: r.auth.identity } : {}), ...(sessionId ? { sessionId } : {}), policy, sink, originUrl, originHeaders: () => r.auth.originHeaders(r.request.headers), lent: r.auth.lent, maxDepth: MAX_JSON_DEPTH })
}

/** The meter of a request under one version of its tenant's config; none when that version has no budget. */
function meterFor(r: AuthedRequest, record: LoadedTenant['record']): BudgetMeter | undefined {
  const budget = record.config.budget
  if (!budget) return undefined
  return new BudgetMeter({
    env: r.env, tenantId: r.tenant.id, configVersion: record.version, budget, requestId: r.requestId,
    ...(r.auth.identity !== undefined ? { identity: r.auth.identity } : r.sessionId ? { sessionId: r.sessionId } : {}),
  })
}

/**
 * Brings an open stream up to the tenant's current config; false when the tenant is now disabled
 * (`enabled: false` refuses every request, and the stream ends as a kill ends it). A newer version's
 * inspection policy (detectors, threshold, rule packs, monitor mode, second stage) and tool settings
 * (access lists, pinning, schema checks) judge the messages the stream carries from then on (`followPolicy`),
 * and a budget set, changed or removed after the stream opened applies to what it carries from then on.
 * Read through the isolate's config cache (`loadTenant`, CONFIG_TTL_MS), so it costs a KV read at most
 * once per 10 s per isolate, and a version is compiled once per isolate, as for new requests. A config
 * that cannot be read keeps the stream on what it has (a deleted tenant is killed as well); one stored but
 * no longer parseable ends it with the refusal new requests get (`tenant_config_invalid`).
 */
export function configFollower(r: AuthedRequest, exchange: Exchange, originUrl: URL): () => Promise<boolean | Problem> {
  let version = r.tenant.record.version
  let budget = JSON.stringify(r.tenant.record.config.budget ?? null)
  return async () => {
    let latest: LoadedTenant | null
    try {
      latest = await currentConfig(r)
    } catch (err) {
      if (err instanceof FirewallError) return err.problem
      throw err
    }
    if (!latest || latest.record.version <= version) return true
    version = latest.record.version
    if (!latest.record.config.enabled) return false
    await followPolicy(r, exchange, latest.record, originUrl)
    const next = JSON.stringify(latest.record.config.budget ?? null)
    if (next === budget) return true
    const meter = meterFor(r, latest.record)
    if (meter) await meter.ready() // a stream opened without a budget has not loaded the tokenizer
    budget = next
    exchange.init.meter = meter
    console.log(JSON.stringify({ event: 'stream_budget_changed', requestId: r.requestId, tenant: r.tenant.id, configVersion: version, budget: meter !== undefined }))
    return true
  }
}

/**
 * The tenant's config as this isolate's cache has it now; null when it cannot be read (a KV failure keeps
 * what the caller has). A stored config that no longer parses throws `tenant_config_invalid`, as it refuses
 * new requests: what was judged under the last good version must not go on being judged under it.
 */
export async function currentConfig(r: AuthedRequest): Promise<LoadedTenant | null> {
  try {
    return await loadTenant(r.env.CONFIG, r.tenant.id)
  } catch (err) {
    if (err instanceof FirewallError && err.problem.kind === 'tenant_config_invalid') throw err
    return null
  }
}

/**
 * An open stream's inspection and tool checks under a newer config version: the policy compiled for new
 * requests (the isolate keeps a tenant's newest), the gate's settings brought up to it, or a gate made
 * when the stream opened with nothing for one to do (its calls still waiting then get their output-schema
 * checks). Runs between two messages of the stream (the relay's re-check), never while one is judged.
 */
export async function followPolicy(r: AuthedRequest, exchange: Exchange, record: LoadedTenant['record'], originUrl: URL): Promise<void> {
  const policy = compilePolicy(r.tenant.id, record.version, record.config)
  let gate = exchange.init.tools
  if (gate) gate.follow(record.version, record.config.policy.tools, policy)
  else {
    gate = gateFor(r, exchange, record, policy, originUrl) ?? undefined
    if (gate) await gate.resume(exchange.streamRequests())
  }
  exchange.follow({ configVersion: record.version, policy, secondStage: secondStageFor(r, record, policy), tools: gate })
}

/** The bearer a tenant's second-stage endpoint gets: its named secret, or none. Unreadable: the call fails (failMode decides). */
async function secondStageBearer(env: Env, tenantId: string, name: string | undefined): Promise<string | undefined> {
  if (name === undefined) return undefined
  const ring = await keyring(env)
  const value = ring ? await cachedSecret(kvAuthStore(env.CONFIG), ring, tenantId, name) : 'unreadable'
  if (value === 'missing' || value === 'unreadable') throw new SecondStageError('network', `secret ${name} is ${value}`)
  return value
}
