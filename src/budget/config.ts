/**
 * The `budget` section of a tenant config (docs/budgets.md): token and request limits per fixed UTC
 * window for the whole tenant, optionally per client and per tool, alert thresholds and the failure
 * mode. Tokens are o200k tokens of the text that enters a model's context (src/budget/tokens.ts).
 *
 * ```json
 * "budget": { "tokensPerMinute": 200000, "tokensPerDay": 20000000, "requestsPerMinute": 600,
 *             "perClient": { "tokensPerMinute": 50000 }, "perTool": { "search": { "tokensPerHour": 1000000 } },
 *             "alertThresholds": [0.8, 1], "failureMode": "closed" }
 * ```
 */
import { z } from 'zod'
import type { Metric, Window } from './windows'

const Limit = z.number().int().min(1).max(1e12)

const limitFields = {
  tokensPerMinute: Limit.optional(),
  tokensPerHour: Limit.optional(),
  tokensPerDay: Limit.optional(),
  /** Calendar month, UTC. */
  tokensPerMonth: Limit.optional(),
  requestsPerMinute: Limit.optional(),
  requestsPerHour: Limit.optional(),
  requestsPerDay: Limit.optional(),
}

/** Limits of one scope (the tenant, each client, one tool). Absent fields are unlimited. */
export const LimitSet = z.object(limitFields).strict()
export type LimitSet = z.infer<typeof LimitSet>

/** The config field holding each (metric, window) limit. */
const FIELDS: ReadonlyArray<readonly [keyof LimitSet, Metric, Window]> = [
  ['tokensPerMinute', 'tokens', 'minute'],
  ['tokensPerHour', 'tokens', 'hour'],
  ['tokensPerDay', 'tokens', 'day'],
  ['tokensPerMonth', 'tokens', 'month'],
  ['requestsPerMinute', 'requests', 'minute'],
  ['requestsPerHour', 'requests', 'hour'],
  ['requestsPerDay', 'requests', 'day'],
]

/** Most tools a tenant may limit one by one. */
export const MAX_TOOL_BUDGETS = 100

export const BudgetConfig = z
  .object({
    ...limitFields,
    /**
     * The same limits again for each client on its own. A client is the verified identity when the tenant
     * authenticates clients (`auth.mode` apiKey or jwt); in passthrough mode it is the `Mcp-Session-Id`,
     * which the client chooses and can change, so per-client limits there are unverified.
     */
    perClient: LimitSet.optional(),
    /** Limits per tool name (exact names), across all clients. */
    perTool: z
      .record(z.string().min(1).max(200), LimitSet)
      .refine((tools) => Object.keys(tools).length <= MAX_TOOL_BUDGETS, `at most ${MAX_TOOL_BUDGETS} tools`)
      .optional(),
    /** Fractions of a limit whose first crossing in a window sends a `budget.threshold` alert. */
    alertThresholds: z
      .array(z.number().gt(0).max(1))
      .max(5)
      .refine((t) => new Set(t).size === t.length, 'must not repeat a threshold')
      .default([0.8, 1]),
    /** When the budget object cannot be reached: `closed` refuses traffic (default), `open` lets it through unmetered. */
    failureMode: z.enum(['closed', 'open']).default('closed'),
    /**
     * Share of each window limit that may sit in isolates' leases at once (0 … 0.1, default 0.02). Larger
     * leases mean fewer calls to the budget object; it is also the most budget an isolate that dies holding
     * a lease can take down with it until the window resets.
     */
    leaseFraction: z.number().min(0).max(0.1).default(0.02),
  })
  .strict()
  .refine((b) => hasLimit(b) || (b.perClient !== undefined && hasLimit(b.perClient)) || Object.values(b.perTool ?? {}).some(hasLimit), {
    message: 'budget sets no limit: add at least one tokensPer… or requestsPer… field',
  })
export type BudgetConfig = z.infer<typeof BudgetConfig>

/** One limited (metric, window) of a scope. */
export interface WindowLimit {
  metric: Metric
  window: Window
  limit: number
}

/**
 * Who a charge is for: the whole tenant, one client (`client:` verified identity, `session:` unverified
 * session id) or one tool.
 */
export type ScopeKey = 'tenant' | `client:${string}` | `session:${string}` | `tool:${string}`

const memo = new WeakMap<BudgetConfig, Map<string, readonly WindowLimit[]>>()

/**
 * The limits that apply to `scope` under `config` (empty: the scope is unlimited). Memoised per config
 * object and scope kind, since the hot path asks for every message.
 */
export function limitsFor(config: BudgetConfig, scope: string): readonly WindowLimit[] {
  const kind = scope.startsWith('client:') || scope.startsWith('session:') ? 'client' : scope
  let byKind = memo.get(config)
  if (!byKind) memo.set(config, (byKind = new Map()))
  let limits = byKind.get(kind)
  if (!limits) {
    limits = collect(kind === 'tenant' ? config : kind === 'client' ? config.perClient : kind.startsWith('tool:') ? toolLimits(config, kind.slice(5)) : undefined)
    if (byKind.size < 1_000) byKind.set(kind, limits)
  }
  return limits
}

/** A tool's own limits: an own key only, so a tool named `constructor` or `__proto__` has none. */
export function toolLimits(config: BudgetConfig, tool: string): LimitSet | undefined {
  return config.perTool && Object.hasOwn(config.perTool, tool) ? config.perTool[tool] : undefined
}

function collect(set: LimitSet | undefined): WindowLimit[] {
  const out: WindowLimit[] = []
  for (const [field, metric, window] of FIELDS) {
    const limit = set?.[field]
    if (limit !== undefined) out.push({ metric, window, limit })
  }
  return out
}

function hasLimit(set: LimitSet): boolean {
  return FIELDS.some(([field]) => set[field] !== undefined)
}
