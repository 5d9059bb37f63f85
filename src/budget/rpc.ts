/**
 * The RPC contract of `TenantBudget` (src/budget/tenant-budget.ts). Arguments arrive from other
 * isolates, so the object validates them with these schemas before touching storage.
 */
import { z } from 'zod'
import { TenantId } from '../tenant/config'
import { BudgetConfig } from './config'
import { METRICS, WINDOWS } from './windows'

/** `tenant`, `client:<verified identity>`, `session:<Mcp-Session-Id>` or `tool:<name>`. */
export const Scope = z.string().regex(/^(tenant|client:.{1,256}|session:.{1,256}|tool:.{1,200})$/s, 'invalid scope')

const Amount = z.number().int().min(0).max(1e12)

/** An amount for one scope. `probe`: refuse unless at least one token is left beyond `tokens`. */
export const ScopeAmount = z
  .object({ scope: Scope, tokens: Amount, requests: Amount, probe: z.boolean().optional() })
  .strict()
export type ScopeAmount = z.infer<typeof ScopeAmount>

/** What a lease holder actually spent of a lease it no longer uses. */
export const Settlement = z.object({ lease: z.string().uuid(), tokens: Amount, requests: Amount }).strict()
export type Settlement = z.infer<typeof Settlement>

/** The budget config a caller acts under, with its version: the object keeps the newest it has seen. */
const Versioned = {
  tenant: TenantId,
  configVersion: z.number().int().min(0),
  config: BudgetConfig,
}

export const ReserveInput = z
  .object({
    ...Versioned,
    /** Which isolate (lease holder) calls; only it may settle its leases. */
    holder: z.string().min(1).max(64),
    /** Leases the holder retires, with what it spent of each. Applied first, even when `need` is refused. */
    settle: z.array(Settlement).max(512),
    /** Charged now, all or nothing across scopes and windows. */
    need: z.array(ScopeAmount).max(256),
    /** Leased on top of `need`, as far as the windows and the lease cap allow. */
    want: z.array(ScopeAmount).max(256),
  })
  .strict()
export type ReserveInput = z.input<typeof ReserveInput>

export const UsageInput = z.object(Versioned).strict()
export type UsageInput = z.input<typeof UsageInput>

/** An allowance an isolate may spend locally until `expiresAt` (epoch ms, the object's clock). */
export interface Lease {
  id: string
  scope: string
  tokens: number
  requests: number
  expiresAt: number
}

/** One limit: a metric over a window of one scope. */
export interface LimitedWindow {
  scope: string
  metric: (typeof METRICS)[number]
  window: (typeof WINDOWS)[number]
  limit: number
}

/** Why a charge was refused: the first window (latest to reset) it would have overrun. */
export interface Refusal extends LimitedWindow {
  /** When the window resets (epoch ms). */
  resetsAt: number
}

export type ReserveResult = { ok: true; leases: Lease[]; now: number } | { ok: false; refusal: Refusal; now: number }

/** One limited window of one scope, as the usage API reports it. */
export interface UsageRow extends LimitedWindow {
  /** Charged: settled spending, direct charges, and leases that expired unsettled (counted in full). */
  used: number
  /** Of `used`, leases that expired before their holder reported what it spent (an upper bound). */
  provisional: number
  /** Held in open leases: may still be spent, or come back. */
  reserved: number
  remaining: number
  /** ISO 8601. */
  windowStart: string
  resetsAt: string
}

export interface UsageReport {
  tenant: string
  unit: 'o200k tokens'
  at: string
  usage: UsageRow[]
  /** Per-client rows were left out (more than 5,000 client rows this window); tenant and tool rows never are. */
  clientsTruncated: boolean
  /** Reserve calls the object has served (all time): the hot path's cost in object round trips. */
  calls: number
}

/** Validates RPC arguments; throws a `TypeError` naming each bad field (it crosses the RPC boundary intact). */
export function parseRpc<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data
  throw new TypeError(`invalid budget RPC arguments: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
}
