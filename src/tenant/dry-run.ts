/**
 * Dry run: what the firewall would do with one message under a tenant's current config or a proposed
 * one. It runs the live code path (the JSON-RPC body parser, `compilePolicy`, `inspect`) and forwards
 * nothing. In monitor mode the live path would forward the original anyway; the verdict here is what
 * the pipeline decided, with `monitor: true` to say it would not be enforced.
 */
import { z } from 'zod'
import { parseJsonBody } from '../mcp/jsonrpc'
import type { JsonRpcMessage } from '../mcp/jsonrpc'
import { compilePolicy } from '../inspect/policy'
import { inspect } from '../inspect/pipeline'
import type { BlockReason, Finding, MessageContext } from '../inspect/types'
import { MAX_JSON_DEPTH } from '../proxy/mcp-endpoint'
import type { TenantConfig } from './config'
import { sha256Hex } from '../hex'

/** Body of `POST /admin/v1/tenants/:id/test`. */
export const DryRunRequest = z
  .object({
    /** One JSON-RPC message, as it would travel on the wire. */
    message: z.unknown(),
    direction: z.enum(['client_to_server', 'server_to_client']),
    /** For a response: the method of the request it answers (the live path remembers it per id). */
    method: z.string().min(1).max(256).optional(),
    /** For a `tools/call` response: the tool that was called. */
    tool: z.string().min(1).max(256).optional(),
    /** Protocol era of the exchange (`modern` is 2026-07-28). */
    era: z.enum(['legacy', 'modern']).default('legacy'),
    /** A proposed config to test instead of the current one (validated like a write; nothing is saved). */
    config: z.unknown().optional(),
  })
  .strict()
export type DryRunRequest = z.infer<typeof DryRunRequest>

const FindingSchema = z
  .object({
    ruleId: z.string(),
    kind: z.string(),
    path: z.string().describe('JSON pointer of the field'),
    span: z.tuple([z.number(), z.number()]).optional().describe('[start, end) in the original string'),
    score: z.number(),
    action: z.enum(['block', 'redact', 'strip', 'flag']).optional(),
  })
  .strict()

/** Answer of a dry run. */
export const DryRunResponse = z
  .object({
    verdict: z.enum(['allow', 'modify', 'block']),
    reason: z.string().optional().describe('Coarse block reason, as clients would see it'),
    findings: z.array(FindingSchema),
    message: z.unknown().optional().describe('The message as it would be forwarded (modify only)'),
    monitor: z.boolean().describe('True when the config is in monitor mode: the live path would forward the original'),
    configVersion: z.number().int().nullable().describe('Version tested; null for a proposed config'),
  })
  .strict()
export interface DryRunResult {
  verdict: 'allow' | 'modify' | 'block'
  reason?: BlockReason
  findings: Finding[]
  message?: JsonRpcMessage
  monitor: boolean
  configVersion: number | null
}

/** What to test the message against. */
export interface DryRunSubject {
  tenantId: string
  config: TenantConfig
  /** The current version, or null for a proposed config. */
  version: number | null
}

export type DryRunOutcome = { ok: true; result: DryRunResult } | { ok: false; reason: string }

/**
 * Inspects `req.message` exactly as the edge would. A proposed config is compiled under a key derived
 * from its content, so it never shadows the tenant's live compiled policy.
 */
export async function dryRun(subject: DryRunSubject, req: DryRunRequest): Promise<DryRunOutcome> {
  if (req.message === undefined) return { ok: false, reason: 'required' }
  const parsed = parseJsonBody(JSON.stringify(req.message), { maxDepth: MAX_JSON_DEPTH })
  if (!parsed.ok) return { ok: false, reason: parsed.reason }
  if (parsed.value.kind !== 'single') return { ok: false, reason: 'one message, not a batch' }
  const message = parsed.value.message

  const policy =
    subject.version === null
      ? compilePolicy(`dry-run:${await sha256Hex(JSON.stringify(subject.config))}`, 0, subject.config)
      : compilePolicy(subject.tenantId, subject.version, subject.config)
  const method = 'method' in message ? message.method : req.method
  const tool = toolNameOf(message) ?? (req.direction === 'server_to_client' ? req.tool : undefined)
  const ctx: MessageContext = {
    tenantId: subject.tenantId,
    direction: req.direction,
    requestId: `dry-run-${crypto.randomUUID()}`,
    era: req.era,
    ...(method ? { method } : {}),
    ...(tool ? { toolName: tool } : {}),
  }
  const verdict = inspect(message, ctx, policy)
  const result: DryRunResult = { verdict: verdict.action, findings: verdict.findings, monitor: policy.monitor, configVersion: subject.version }
  if (verdict.action === 'block') result.reason = verdict.reason
  if (verdict.action === 'modify') result.message = verdict.message
  return { ok: true, result }
}

/** Same rule as the live exchange: a `tools/call` request names its tool in `params.name`. */
function toolNameOf(message: JsonRpcMessage): string | undefined {
  if (!('method' in message) || message.method !== 'tools/call') return undefined
  const name = message.params?.['name']
  return typeof name === 'string' ? name : undefined
}
