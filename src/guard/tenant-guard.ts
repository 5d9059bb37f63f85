/**
 * `TenantGuard`: one SQLite-backed Durable Object per tenant holding its kill switch (the whole tenant,
 * or single tools). Strongly consistent and read-mostly; the edge reads it through `kill-state.ts`,
 * which coalesces reads per location so no single object sits on every request.
 */
import { DurableObject } from 'cloudflare:workers'
import { z } from 'zod'

/** `*` is the whole tenant; `tool:<name>` one tool. */
export const KillScope = z.union([z.literal('*'), z.string().regex(/^tool:.{1,200}$/s)])
export type KillScope = z.infer<typeof KillScope>

export interface KillState {
  /** The whole tenant is stopped. */
  killed: boolean
  /** Tools stopped on their own. */
  tools: string[]
  /** Increases on every change, so a cached copy can tell it is old. */
  version: number
}

const SCHEMA_VERSION = 1
/** The `by` of a kill the operator pulled (`actorLabel` in src/tenant/keys.ts). */
const OPERATOR = 'operator'

export class TenantGuard extends DurableObject<Env> {
  readonly #sql: SqlStorage

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS kills (scope TEXT PRIMARY KEY, since TEXT NOT NULL, by TEXT NOT NULL)`)
    this.#sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('state_version', '0')`, String(SCHEMA_VERSION))
  }

  /**
   * Stops the tenant (`*`) or one tool. Idempotent. `null` for an invalid scope (nothing changes). A kill
   * the operator pulled stays the operator's when a key pulls it again.
   */
  kill(scope: string, by: string): KillState | null {
    const s = KillScope.safeParse(scope)
    const actor = z.string().max(200).safeParse(by)
    if (!s.success || !actor.success) return null
    if (this.#purged()) return this.state() // a deleted tenant is stopped already: nothing to write
    if (actor.data === OPERATOR) this.#sql.exec(`INSERT OR REPLACE INTO kills (scope, since, by) VALUES (?, ?, ?)`, s.data, new Date().toISOString(), actor.data)
    else this.#sql.exec(`INSERT OR IGNORE INTO kills (scope, since, by) VALUES (?, ?, ?)`, s.data, new Date().toISOString(), actor.data)
    return this.#bump()
  }

  /**
   * Lifts a kill. Idempotent. `null` for an invalid scope; `'operator-kill'` (nothing changes) when
   * `by` is not the operator and the operator pulled this kill: an emergency stop the operator made
   * holds until the operator lifts it, so a tenant key (perhaps the leaked one it was pulled for) cannot
   * undo it.
   */
  restore(scope: string, by: string): KillState | null | 'operator-kill' {
    const s = KillScope.safeParse(scope)
    if (!s.success) return null
    if (by !== OPERATOR) {
      const holder = this.#sql.exec<{ by: string }>(`SELECT by FROM kills WHERE scope = ?`, s.data).toArray()[0]
      if (holder?.by === OPERATOR) return 'operator-kill'
    }
    this.#sql.exec(`DELETE FROM kills WHERE scope = ?`, s.data)
    return this.#bump()
  }

  state(): KillState {
    const scopes = this.#sql.exec<{ scope: string }>(`SELECT scope FROM kills ORDER BY scope`).toArray().map((r) => r.scope)
    const version = Number(this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'state_version'`).one().value)
    return { killed: scopes.includes('*') || this.#purged(), tools: scopes.filter((s) => s.startsWith('tool:')).map((s) => s.slice(5)), version }
  }

  /**
   * Removes everything (tenant deletion) and keeps the tenant stopped for good (the id is never reused).
   * Isolates hold a deleted tenant's config for about 70 s, and a stream opened before the deletion
   * never reads it again: both read this state, so the tenant's traffic stops within the kill switch's
   * bound instead, and stops writing what the purge of its other objects has just erased.
   */
  purge(): void {
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(`DELETE FROM kills`)
      this.#sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('purged', '1')`)
      this.#bump()
    })
  }

  #purged(): boolean {
    return this.#sql.exec(`SELECT 1 FROM meta WHERE key = 'purged'`).toArray().length > 0
  }

  #bump(): KillState {
    this.#sql.exec(`UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'state_version'`)
    return this.state()
  }
}
