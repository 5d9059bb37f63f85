/**
 * `AlertOutbox`: one SQLite-backed Durable Object per tenant (`getByName(<tenant id>)`) that queues the
 * tenant's alerts and delivers them to its webhooks, retrying by alarm.
 *
 * `enqueue` writes one `deliveries` row per subscribed webhook and sets the alarm; the alarm sends what
 * is due (reading the tenant's current config, so a removed webhook or a changed URL takes effect on the
 * next attempt), records each outcome and re-arms itself for the earliest pending row. Failures back off
 * exponentially with jitter (backoff.ts) until delivered or given up as `failed`. `security.blocked`
 * summaries are held for `SUMMARY_WINDOW_MS` and merged while unsent, so an attack produces one alert per
 * webhook per window, not one per request.
 */
import { DurableObject } from 'cloudflare:workers'
import { keyring } from '../auth/master-key'
import type { Keyring } from '../auth/master-key'
import { kvAuthStore } from '../auth/storage'
import type { TenantConfig } from '../tenant/config'
import { readSecret } from '../tenant/secrets'
import { nextAttemptAt, scheduleFromEnv } from './backoff'
import { AlertType, subscribes } from './config'
import { isPermanentFailure, postWebhook } from './deliver'
import type { DeliveryOutcome } from './deliver'
import { AlertPayload, mergeBlocked, SecurityBlockedData } from './events'
import type { AlertInput } from './events'
import { DeliveryTable } from './outbox-store'
import type { DeliveryInfo, DeliveryRow } from './outbox-store'
import { EnqueueInput, ListInput } from './outbox-types'
import type { EnqueueResult } from './outbox-types'
import { webhookTarget } from './url'

/** How long a `security.blocked` summary collects further blocks before its first attempt. */
export const SUMMARY_WINDOW_MS = 10_000
/**
 * Pending deliveries kept at most per webhook; further alerts to it are dropped (and logged) until its
 * queue drains. Per webhook, so one receiver that is down cannot silence the others (a kill alert too).
 */
export const MAX_PENDING = 1_000
/** Finished deliveries kept for `GET …/alerts`. */
const RETAIN = 500
/** Deliveries attempted per alarm run, and at once (Workers allow 6 simultaneous connections). */
const BATCH = 25
const CONCURRENCY = 5
/** How long an enqueue may reuse the tenant config it last read. */
const CONFIG_TTL_MS = 5_000
/** When the config authority cannot be read during an alarm, try again after this. */
const UNREACHABLE_RETRY_MS = 30_000

type Tenant = Pick<TenantConfig, 'hosts' | 'alerts'> | null

export class AlertOutbox extends DurableObject<Env> {
  readonly #table: DeliveryTable
  #config: { tenant: Tenant; until: number } | null = null

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#table = new DeliveryTable(ctx.storage.sql)
  }

  /** Queues an alert for every subscribed webhook and arms the alarm. */
  async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    const { tenant, alert } = EnqueueInput.parse(input)
    this.#bind(tenant)
    // A config change may add or remove webhooks: never answer it from the cached copy.
    const config = await this.#tenant(tenant, alert.type === 'config.changed')
    const hooks = config?.alerts.webhooks.filter((h) => subscribes(h, alert.type)) ?? []
    if (hooks.length === 0) return { eventId: null, deliveries: 0 }
    const now = Date.now()
    const eventId = crypto.randomUUID()
    let deliveries = 0
    let merged: string | null = null
    for (const hook of hooks) {
      const into = alert.type === 'security.blocked' ? this.#mergeSummary(hook.id, alert.data, now) : null
      if (into) {
        merged = into
        deliveries += 1
        continue
      }
      if (this.#table.pendingCountFor(hook.id) >= MAX_PENDING) {
        console.error(JSON.stringify({ event: 'alert_dropped', reason: 'outbox_full', tenant, type: alert.type, webhook: hook.id }))
        continue
      }
      const body = JSON.stringify(payload(eventId, tenant, now, alert))
      const nextAt = alert.type === 'security.blocked' ? now + SUMMARY_WINDOW_MS : now
      this.#table.insert({ eventId, webhookId: hook.id, type: alert.type, url: hook.url, body, createdAt: now, nextAt })
      deliveries += 1
    }
    await this.#arm()
    return { eventId: deliveries > 0 ? (merged ?? eventId) : null, deliveries }
  }

  /** Recent deliveries, newest first. */
  list(input: ListInput): DeliveryInfo[] {
    const q = ListInput.parse(input)
    const bound = this.#table.tenant()
    if (bound === null) return []
    if (bound !== q.tenant) throw new Error('tenant id does not match this object')
    return this.#table.list(q.limit, q.status)
  }

  /** Deletes every delivery and the alarm (tenant deletion). */
  async purge(input: { tenant: string }): Promise<void> {
    const bound = this.#table.tenant()
    if (bound !== null && bound !== input.tenant) throw new Error('tenant id does not match this object')
    this.#table.purge()
    // The next enqueue reads the authority again (and finds the tenant gone) instead of trusting a config
    // cached before the purge, which would queue rows only a later sweep erases.
    this.#config = null
    await this.ctx.storage.deleteAlarm()
  }

  /** Sends what is due, records the outcomes and re-arms for the earliest pending delivery. */
  override async alarm(): Promise<void> {
    const tenant = this.#table.tenant()
    if (tenant === null) return
    const now = Date.now()
    const due = this.#table.due(now, BATCH)
    if (due.length > 0) {
      let config: Tenant
      try {
        config = await this.#tenant(tenant, true)
      } catch (err) {
        console.error(JSON.stringify({ event: 'alert_config_unreachable', tenant, error: String(err) }))
        await this.ctx.storage.setAlarm(now + UNREACHABLE_RETRY_MS)
        return
      }
      const ring = await keyring(this.env)
      const secrets = new Map<string, Promise<string | null>>()
      for (let i = 0; i < due.length; i += CONCURRENCY) {
        await Promise.all(due.slice(i, i + CONCURRENCY).map((row) => this.#attempt(tenant, row, config, ring, secrets)))
      }
      this.#table.trim(RETAIN)
    }
    const next = this.#table.nextDue()
    if (next !== null) await this.ctx.storage.setAlarm(next)
  }

  async #attempt(tenant: string, row: DeliveryRow, config: Tenant, ring: Keyring | null, secrets: Map<string, Promise<string | null>>): Promise<void> {
    const hook = config?.alerts.webhooks.find((h) => h.id === row.webhook_id)
    const type = AlertType.safeParse(row.type)
    if (!config || !hook || !type.success || !subscribes(hook, type.data)) {
      this.#table.cancel(row.seq, config ? 'webhook_removed' : 'tenant_unavailable')
      return
    }
    const now = Date.now()
    const target = webhookTarget(this.env, hook.url, config.hosts)
    let outcome: DeliveryOutcome
    if (!target.ok) {
      outcome = { ok: false, status: null, error: 'url_refused' }
    } else {
      const secret = await secretFor(secrets, hook.secret, () => openSecret(this.env, ring, tenant, hook.secret))
      outcome = secret === null
        ? { ok: false, status: null, error: 'secret_unavailable' }
        : await postWebhook({ url: target.url, secret, body: row.body, eventId: row.event_id, timestamp: Math.floor(now / 1000) })
    }
    const nextAt = outcome.ok || isPermanentFailure(outcome)
      ? null
      : nextAttemptAt(row.attempts + 1, row.created_at, now, scheduleFromEnv(this.env), { retryAfterMs: outcome.retryAfterMs })
    const status = outcome.ok ? 'delivered' : nextAt === null ? 'failed' : 'pending'
    this.#table.recordAttempt(row.seq, { status, at: now, url: hook.url, nextAt, httpStatus: outcome.status, error: outcome.ok ? null : outcome.error })
    if (status === 'failed') {
      console.error(JSON.stringify({ event: 'alert_delivery_failed', tenant, webhook: hook.id, eventId: row.event_id, type: row.type, attempts: row.attempts + 1, status: outcome.status, error: outcome.ok ? null : outcome.error }))
    }
  }

  /** Merges a block summary into one for the same webhook still waiting out its window; its event id, or null. */
  #mergeSummary(webhookId: string, data: SecurityBlockedData, now: number): string | null {
    const row = this.#table.unsent(webhookId, 'security.blocked', now)
    const existing = row ? AlertPayload.safeParse(parseJson(row.body)) : null
    const before = existing?.success ? SecurityBlockedData.safeParse(existing.data.data) : null
    if (!row || !existing?.success || !before?.success) return null
    this.#table.setBody(row.seq, JSON.stringify({ ...existing.data, data: mergeBlocked(before.data, data) }))
    return row.event_id
  }

  /** Sets the alarm for the earliest pending delivery unless one is set sooner. */
  async #arm(): Promise<void> {
    const next = this.#table.nextDue()
    if (next === null) return
    const current = await this.ctx.storage.getAlarm()
    if (current === null || current > next) await this.ctx.storage.setAlarm(next)
  }

  /** The tenant's hosts and alert settings from its config authority (the truth), or null when it is not active. */
  async #tenant(tenant: string, fresh: boolean): Promise<Tenant> {
    const now = Date.now()
    if (!fresh && this.#config && this.#config.until > now) return this.#config.tenant
    const read = await this.env.TENANT_CONFIG.getByName(tenant).read({ tenant })
    const value: Tenant = read.status === 'active' ? { hosts: read.record.config.hosts, alerts: read.record.config.alerts } : null
    this.#config = { tenant: value, until: now + CONFIG_TTL_MS }
    return value
  }

  /** One object per tenant id: a call naming another tenant is a routing bug, never served. */
  #bind(tenant: string): void {
    const bound = this.#table.tenant()
    if (bound === null) this.#table.setTenant(tenant)
    else if (bound !== tenant) throw new Error('tenant id does not match this object')
  }
}

function payload(id: string, tenant: string, now: number, alert: AlertInput): AlertPayload {
  return { id, type: alert.type, tenant, time: new Date(now).toISOString(), data: alert.data }
}

async function openSecret(env: Env, ring: Keyring | null, tenant: string, name: string): Promise<string | null> {
  if (!ring) return null
  const value = await readSecret(kvAuthStore(env.CONFIG), ring, tenant, name)
  return value === 'missing' || value === 'unreadable' ? null : value
}

function secretFor(cache: Map<string, Promise<string | null>>, name: string, open: () => Promise<string | null>): Promise<string | null> {
  let hit = cache.get(name)
  if (!hit) cache.set(name, (hit = open().catch(() => null)))
  return hit
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}
