/**
 * Dry run: what the firewall would do with one message under a tenant's current config or a proposed
 * one. It runs the live code path (the JSON-RPC body parser, the policy compiler, `inspect`) and forwards
 * nothing. In monitor mode the live path would forward the original anyway; the verdict here is what
 * the pipeline decided, with `monitor: true` to say it would not be enforced.
 *
 * The tenant-wide tool, prompt and resource allow/deny lists need no state and are applied as the tool gate
 * applies them. Some live checks read state a dry run does not have: tool pins, call approvals, the kill switch, budgets,
 * the verified client identity, the classifier's second stage (an outside service). Those it cannot apply
 * to the message are named in `unchecked`, so an `allow` is never read as more than it is. A tool's output
 * schema, which live comes from its pin, can be passed in (`outputSchema`) to check a result as live does.
 */
import { z } from 'zod'
import { getOwn, isJsonObject, parseJsonBody } from '../mcp/jsonrpc'
import type { JsonObject, JsonRpcMessage } from '../mcp/jsonrpc'
import { toolResultPath, type ToolResultPath } from '../mcp/tool-result'
import { getAt, setAt } from '../inspect/pointer'
import type { ProtocolEra } from '../mcp/era'
import { buildPolicy, globMatch, keptOrBuiltPolicy } from '../inspect/policy'
import { inspect, uninspected } from '../inspect/pipeline'
import type { BlockReason, Finding, MessageContext } from '../inspect/types'
import { MAX_JSON_DEPTH } from '../proxy/mcp-endpoint'
import { TASK_METHODS } from '../proxy/tasks'
import type { TenantConfig } from './config'
import { canonicalJson } from '../tools/canonical'
import { compileSchema } from '../tools/schema'
import { accessRefusal, schemaFindings } from '../tools/call-check'
import { withheldToolResult } from '../tools/result-check'
import { accessOf, type Refusal } from '../tools/context'
import { hidesEntry, LISTS } from '../tools/list-check'

// What each field of a dry run must be, in the words a refusal uses: zod's own ("expected nonoptional,
// received undefined") name its internals, not what the caller left out.
const DIRECTIONS = 'client_to_server (the client sends the message) or server_to_client (the origin sends it)'
const FIELDS = 'message, direction, method, tool, outputSchema, era and config'

/** A string of 1 to 256 characters that is `what`, refused in those words. */
function name(what: string) {
  const error = `must be ${what}, 1 to 256 characters`
  return z.string({ error }).min(1, { error }).max(256, { error })
}

/** Body of `POST /admin/v1/tenants/:id/test`. */
export const DryRunRequest = z
  .object(
    {
      /** One JSON-RPC message, as it would travel on the wire. */
      message: z.unknown().nonoptional({ error: 'required, a JSON-RPC message object' }),
      direction: z.enum(['client_to_server', 'server_to_client'], { error: (i) => `${i.input === undefined ? 'required,' : 'must be'} ${DIRECTIONS}` }),
      /** For a response: the method of the request it answers (the live path remembers it per id). */
      method: name('the method of the request the message answers').optional(),
      /** For a `tools/call` response (or a task's `tasks/result` or `tasks/get`): the tool that was called. */
      tool: name('the name of the tool called').optional(),
      /**
       * For a response carrying a tool's result (`tools/call`, `tasks/result`, or the final result nested in a
       * 2026-07-28 `tasks/get` answer): the `outputSchema` of the tool's approved definition, which the live
       * path reads from the tool's pin (ignored when pinning is off, as live).
       */
      outputSchema: z.record(z.string(), z.unknown(), { error: "must be a JSON Schema object, the tool's outputSchema" }).optional(),
      /** Protocol era of the exchange (`modern` is 2026-07-28). */
      era: z.enum(['legacy', 'modern'], { error: 'must be legacy (the default) or modern (2026-07-28)' }).default('legacy'),
      /** A proposed config to test instead of the current one (validated like a write; nothing is saved). */
      config: z.unknown().optional(),
    },
    {
      error: (i) =>
        i.code === 'unrecognized_keys'
          ? `unknown field ${i.keys.map((k) => JSON.stringify(k)).join(', ')}: a dry run takes ${FIELDS}`
          : 'must be a JSON object: {"message": {…}, "direction": "client_to_server" | "server_to_client"}',
    },
  )
  .strict()
export type DryRunRequest = z.infer<typeof DryRunRequest>

/**
 * Live checks a dry run cannot apply: `pins` (tool and prompt pins: unreviewed or changed definitions, and
 * a call result's output schema when none was passed), `approval` (`requireApproval`), `kill-switch`,
 * `identity` (`byIdentity` lists), `budget`, `second-stage` (the classifier's outside second opinion).
 */
const UNCHECKED = ['pins', 'approval', 'kill-switch', 'identity', 'budget', 'second-stage'] as const
export type Unchecked = (typeof UNCHECKED)[number]

const FindingSchema = z
  .object({
    ruleId: z.string(),
    kind: z.string(),
    path: z.string().describe('JSON pointer of the field'),
    span: z.tuple([z.number(), z.number()]).optional().describe('[start, end) in the original string'),
    score: z.number(),
    action: z.enum(['block', 'redact', 'strip', 'flag']).optional(),
    pack: z.string().optional().describe('Rule pack of a rule finding (`custom` for a tenant rule, `engine` for the scan budget)'),
    monitoredAction: z.enum(['block', 'redact', 'strip', 'flag']).optional().describe('What a rule in monitor mode would have done (`action` is then `flag`)'),
    ruleScore: z.number().optional().describe("The rule's score where `score` counts nothing (monitor mode, an injection rule that does not block)"),
    detail: z.object({ hidden: z.string() }).optional().describe('Hidden Unicode: the decoded hidden text, at most 256 characters'),
    modelScore: z.number().optional().describe("Classifier: its calibrated score before the tenant's threshold"),
    logit: z.number().optional().describe("Classifier: the model's raw logit for its best window"),
    textSpan: z.tuple([z.number(), z.number()]).optional().describe("Classifier: its best window, in the field's normalised text"),
  })
  .strict()

/** Answer of a dry run. */
export const DryRunResponse = z
  .object({
    verdict: z.enum(['allow', 'modify', 'block']),
    reason: z.string().optional().describe('Coarse block reason, as clients would see it'),
    findings: z.array(FindingSchema),
    message: z.unknown().optional().describe('The message as it would be forwarded (modify only)'),
    monitor: z.boolean().describe('True when the config is in monitor mode and the live path would forward the original; false for a message it could not inspect, which is refused in every mode'),
    staged: z
      .enum(['modify', 'block'])
      .optional()
      .describe("What rules in monitor mode (a pack's mode, or newer than its enforceVersion) would have made of the message, when more than the verdict (modify on a modify: they would redact or strip more of it); logged live as that verdict with monitor: true"),
    unchecked: z.array(z.enum(UNCHECKED)).describe('Live checks that need state a dry run does not have, not applied to this message'),
    configVersion: z.number().int().nullable().describe('Version tested; null for a proposed config'),
  })
  .strict()
export interface DryRunResult {
  verdict: 'allow' | 'modify' | 'block'
  /** The pipeline's reason, or the tool gate's for a request its access lists refuse (`tool-not-allowed` …). */
  reason?: BlockReason | Refusal
  findings: Finding[]
  message?: JsonRpcMessage
  monitor: boolean
  staged?: 'modify' | 'block'
  unchecked: Unchecked[]
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
 * Inspects `req.message` exactly as the edge would. A proposed config is compiled for this run alone,
 * so it never shadows the tenant's live compiled policy, and a stream of proposals holds no memory.
 */
export async function dryRun(subject: DryRunSubject, req: DryRunRequest): Promise<DryRunOutcome> {
  const sent = req.message
  if (sent === undefined) return { ok: false, reason: 'required, a JSON-RPC message object' }
  if (Array.isArray(sent)) return { ok: false, reason: 'one message, not a batch' }
  if (typeof sent !== 'object' || sent === null) return { ok: false, reason: `must be a JSON-RPC message object, not ${sent === null ? 'null' : `a ${typeof sent}`}` }
  const parsed = parseJsonBody(JSON.stringify(sent), { maxDepth: MAX_JSON_DEPTH })
  if (!parsed.ok) return { ok: false, reason: parsed.reason }
  if (parsed.value.kind !== 'single') return { ok: false, reason: 'one message, not a batch' }
  const message = parsed.value.message

  const policy =
    subject.version === null
      ? buildPolicy(subject.tenantId, 0, subject.config)
      : keptOrBuiltPolicy(subject.tenantId, subject.version, subject.config)
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
  const tools = subject.config.policy.tools
  // A tool's result is checked against the tool's output schema before inspection, as the tool gate does
  // (src/tools/result-check.ts), and a redacted structured content is kept only when it still fits it.
  const at = toolResultPath(message, method)
  const output = req.outputSchema !== undefined && tools.pinning !== 'off' && at !== null ? compileSchema(canonicalJson(req.outputSchema as JsonObject), req.outputSchema as JsonObject) : null
  let subjectMessage = message
  const before: Finding[] = []
  if (output && at !== null) {
    ctx.fitsOutput = (structured) => output.check(structured).valid
    const structured = getOwn(resultAt(message, at), 'structuredContent')
    if (structured !== undefined && tools.schema.results !== 'off') {
      const check = output.check(structured)
      before.push(...schemaFindings(check, `${at}/structuredContent`, 'schema-result-invalid'))
      if (!check.valid && tools.schema.results === 'isError') subjectMessage = setAt(message, at, withheldToolResult(resultAt(message, at), req.era))
    }
  }
  // The tenant-wide allow and deny lists need no state: a list result loses the entries they hide, and a
  // request inspection lets through is refused when they do not permit it, as the tool gate does after
  // inspection. Per-identity lists are `unchecked`.
  const hidden = listAccess(subject.config, subjectMessage, req.direction, method)
  if (hidden) {
    subjectMessage = hidden.message
    before.push(...hidden.findings)
  }
  const verdict = inspect(subjectMessage, ctx, policy)
  const findings = [...before, ...verdict.findings]
  const checked = uncheckedFor(subject.config, message, req, method, tool, output !== null)
  const result: DryRunResult = { verdict: verdict.action, findings, monitor: policy.monitor && uninspected(verdict) === null, ...(verdict.staged ? { staged: verdict.staged } : {}), unchecked: checked, configVersion: subject.version }
  const refused = verdict.action === 'block' ? null : refusalOf(subject.config, verdict.action === 'modify' ? verdict.message : subjectMessage, req.direction)
  if (refused) {
    delete result.staged // nothing is more than a block
    return { ok: true, result: { ...result, verdict: 'block', reason: refused.reason, findings: [...findings, refused.finding] } }
  }
  if (verdict.action === 'block') result.reason = verdict.reason
  if (verdict.action === 'modify') result.message = verdict.message
  else if (verdict.action === 'allow' && subjectMessage !== message) Object.assign(result, { verdict: 'modify', message: subjectMessage })
  return { ok: true, result }
}

/** The tool gate's refusal of a request the tenant-wide access lists do not permit (no identity: a dry run has none). */
function refusalOf(config: TenantConfig, message: JsonRpcMessage, direction: DryRunRequest['direction']): { reason: Refusal; finding: Finding } | null {
  if (direction !== 'client_to_server' || !('method' in message) || !('id' in message)) return null
  return accessRefusal(config.policy.tools, message, undefined)
}

/** A list result without the entries the tenant-wide access lists hide, as the tool gate strips them (list-check.ts). */
function listAccess(config: TenantConfig, message: JsonRpcMessage, direction: DryRunRequest['direction'], method: string | undefined): { message: JsonRpcMessage; findings: Finding[] } | null {
  const list = method !== undefined ? LISTS[method] : undefined
  if (direction !== 'server_to_client' || !list || !('result' in message)) return null
  const entries = getOwn(message.result, list.key)
  const access = accessOf(config.policy.tools)
  if (!Array.isArray(entries) || !access.active) return null
  const findings: Finding[] = []
  const kept = entries.filter((entry, at) => {
    if (!hidesEntry(list, entry, access, undefined)) return true
    findings.push({ ruleId: 'tool-access-denied', kind: 'policy', path: `/result/${list.key}/${at}`, score: 1, action: 'strip' })
    return false
  })
  if (findings.length === 0) return null
  return { message: { ...message, result: { ...message.result, [list.key]: kept } }, findings }
}

/** The tool result `toolResultPath` found at `at` (an object there, by its contract). */
function resultAt(message: JsonRpcMessage, at: ToolResultPath): JsonObject {
  return getAt(message, at) as JsonObject
}

/** The live checks this message would meet that need state the dry run does not have. */
function uncheckedFor(config: TenantConfig, message: JsonRpcMessage, req: DryRunRequest, method: string | undefined, tool: string | undefined, outputKnown: boolean): Unchecked[] {
  const tools = config.policy.tools
  const out: Unchecked[] = []
  const request = 'method' in message && 'id' in message && req.direction === 'client_to_server' ? message.method : undefined
  const listResult = req.direction === 'server_to_client' && 'result' in message && method !== undefined && LISTS[method] !== undefined ? method : undefined
  const at = toolResultPath(message, method)
  const structured = at !== null && getOwn(resultAt(message, at), 'structuredContent') !== undefined
  if (tools.pinning !== 'off') {
    const pinned = request === 'tools/call' || request === 'prompts/get' || (listResult !== undefined && listResult !== 'resources/list')
    if (pinned || (structured && !outputKnown)) out.push('pins')
  }
  if (request === 'tools/call' && tool !== undefined && tools.requireApproval.some((g) => globMatch(g, tool))) out.push('approval')
  // A task's requests get the kill switch and access lists of the tool the task runs, from its record.
  const task = request !== undefined && TASK_METHODS.has(request)
  if (request === 'tools/call' || task) out.push('kill-switch')
  const named = request === 'tools/call' || request === 'prompts/get' || request === 'resources/read' || request === 'resources/subscribe'
  if (Object.keys(tools.byIdentity).length > 0 && (named || task || listResult !== undefined)) out.push('identity')
  if (config.budget !== undefined) out.push('budget')
  if (config.policy.classifier.secondStage !== undefined) out.push('second-stage')
  return out
}

/** Same rule as the live exchange: a `tools/call` request names its tool in `params.name`. */
function toolNameOf(message: JsonRpcMessage): string | undefined {
  if (!('method' in message) || message.method !== 'tools/call') return undefined
  const name = message.params?.['name']
  return typeof name === 'string' ? name : undefined
}
