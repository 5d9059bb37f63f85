/**
 * What the budget adds to one `tools/call` exchange while an allowance is held, in Node: counting the
 * request's arguments and the result's text (o200k) and spending both from the isolate's lease, exactly
 * the steps `BudgetMeter.admitClient` and `BudgetMeter.server` take (src/budget/enforce.ts) when no
 * object call is needed. The lease comes from an in-memory stand-in for the object that grants
 * everything asked; its calls are counted to show none happen in steady state.
 */
import { BudgetConfig } from '../src/budget/config.js'
import { LeaseLedger } from '../src/budget/lease.js'
import type { LedgerContext } from '../src/budget/lease.js'
import type { ReserveInput, ReserveResult } from '../src/budget/rpc.js'
import { loadTokenizer, messageTokens } from '../src/budget/tokens.js'
import type { JsonRpcMessage } from '../src/mcp/jsonrpc.js'
import { BENCH_TOOL, toolsCallResult } from './payloads.js'
import { percentile } from './stats.js'

export interface HotPathRow {
  readonly size: number
  readonly tokens: number
  /** Median and p99 of count + spend for request and result together, µs. */
  readonly p50Micros: number
  readonly p99Micros: number
  /** Of which counting the result text (µs, median). */
  readonly countMicros: number
  readonly objectCalls: number
  readonly exchanges: number
}

/** A stand-in object: grants every lease in full for 10 s. */
function grantAll(input: ReserveInput): Promise<ReserveResult> {
  const now = Date.now()
  return Promise.resolve({ ok: true, now, leases: input.want.map((w, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, scope: w.scope, tokens: w.tokens * 1000, requests: w.requests * 1000, expiresAt: now + 10_000 })) })
}

/** Times count + local spend for results of each size. */
export async function measureHotPath(sizes: readonly number[], iterations = 3_000): Promise<HotPathRow[]> {
  await loadTokenizer()
  const config = BudgetConfig.parse({ tokensPerMinute: 1e12, requestsPerMinute: 1e9 })
  const ctx: LedgerContext = { tenant: 'bench', configVersion: 1, config }
  const rows: HotPathRow[] = []
  for (const size of sizes) {
    const ledger = new LeaseLedger(grantAll, 'bench-holder')
    const request: JsonRpcMessage = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: BENCH_TOOL, arguments: { size, mode: 'json' } } }
    const response = JSON.parse(JSON.stringify({ jsonrpc: '2.0', id: 1, result: toolsCallResult(size) })) as JsonRpcMessage
    const exchange = async (): Promise<void> => {
      const args = messageTokens(request, 'client_to_server')
      const admitted = ledger.trySpend(ctx, [{ scope: 'tenant', tokens: args, requests: 1, probe: true }]) || (await ledger.spend(ctx, [{ scope: 'tenant', tokens: args, requests: 1, probe: true }])).ok
      const tokens = messageTokens(response, 'server_to_client', 'tools/call')
      const spent = ledger.trySpend(ctx, [{ scope: 'tenant', tokens, requests: 0 }]) || (await ledger.spend(ctx, [{ scope: 'tenant', tokens, requests: 0 }])).ok
      if (!admitted || !spent) throw new Error('refused in the bench')
    }
    for (let i = 0; i < 300; i++) await exchange() // warm-up: JIT, merge cache, first lease
    const callsBefore = ledger.calls
    const times: number[] = []
    for (let i = 0; i < iterations; i++) {
      const t = performance.now()
      await exchange()
      times.push((performance.now() - t) * 1000)
    }
    const countTimes: number[] = []
    for (let i = 0; i < 500; i++) {
      const t = performance.now()
      messageTokens(response, 'server_to_client', 'tools/call')
      countTimes.push((performance.now() - t) * 1000)
    }
    const sorted = Float64Array.from(times).sort()
    rows.push({
      size,
      tokens: messageTokens(response, 'server_to_client', 'tools/call'),
      p50Micros: percentile(sorted, 50),
      p99Micros: percentile(sorted, 99),
      countMicros: percentile(Float64Array.from(countTimes).sort(), 50),
      objectCalls: ledger.calls - callsBefore,
      exchanges: iterations,
    })
  }
  return rows
}
