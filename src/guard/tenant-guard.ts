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

export class TenantGuard extends DurableObject<Env> {
  readonly #sql: SqlStorage

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS kills (scope TEXT PRIMARY KEY, since TEXT NOT NULL, by TEXT NOT NULL)`)
    this.#sql.exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('state_version', '0')`, String(SCHEMA_VERSION))
  }

  /** Stops the tenant (`*`) or one tool. Idempotent. `null` for an invalid scope (nothing changes). */
  kill(scope: string, by: string): KillState | null {
    const s = KillScope.safeParse(scope)
    const actor = z.string().max(200).safeParse(by)
    if (!s.success || !actor.success) return null
    this.#sql.exec(`INSERT OR REPLACE INTO kills (scope, since, by) VALUES (?, ?, ?)`, s.data, new Date().toISOString(), actor.data)
    return this.#bump()
  }

  /** Lifts a kill. Idempotent. `null` for an invalid scope. */
  restore(scope: string): KillState | null {
    const s = KillScope.safeParse(scope)
    if (!s.success) return null
    this.#sql.exec(`DELETE FROM kills WHERE scope = ?`, s.data)
    return this.#bump()
  }

  state(): KillState {
    const scopes = this.#sql.exec<{ scope: string }>(`SELECT scope FROM kills ORDER BY scope`).toArray().map((r) => r.scope)
    const version = Number(this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'state_version'`).one().value)
    return { killed: scopes.includes('*'), tools: scopes.filter((s) => s.startsWith('tool:')).map((s) => s.slice(5)), version }
  }

  /** Removes everything (tenant deletion). */
  purge(): void {
    this.#sql.exec(`DELETE FROM kills`)
    this.#bump()
  }

  #bump(): KillState {
    this.#sql.exec(`UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'state_version'`)
    return this.state()
  }
}
