/**
 * The inspection of 2026-07-28 `Mcp-Param-*` header values. They mirror a request's arguments, but unknown
 * ones are forwarded as the spec requires, so they are a channel of their own: each value is scanned by the
 * policy's detectors as an argument, and judged on its own findings.
 */
import type { CompiledPolicy } from '../inspect/policy'
import type { Finding, MessageContext, Verdict } from '../inspect/types'
import { combineInjection } from '../inspect/combine'
import { stagedFindings } from '../inspect/pipeline'
import { decodeHeaderValue } from '../mcp/headers2026'
import { textField } from '../detectors/rules/field'

/** The verdict on a request's `Mcp-Param-*` header values, or null when no detector found anything in them. */
export function inspectParamHeaders(headers: Headers, policy: CompiledPolicy, ctx: MessageContext): Verdict | null {
  const findings: Finding[] = []
  headers.forEach((value, name) => {
    if (!name.toLowerCase().startsWith('mcp-param-')) return
    const decoded = decodeHeaderValue(value) ?? value
    const field = textField(decoded, 'arguments', { path: `/headers/${name.toLowerCase()}` })
    for (const detector of policy.detectors) findings.push(...detector.detect(field, ctx))
  })
  if (findings.length === 0) return null
  const threshold = policy.injectionThreshold
  const enforced = paramHeaderVerdict(findings, threshold)
  // Rules a pack runs in monitor mode or stages are logged as the refusal they would give, as in the body.
  const staged = enforced.action === 'allow' ? stagedFindings(findings) : null
  return staged && paramHeaderVerdict(staged, threshold).action === 'block' ? { ...enforced, staged: 'block' } : enforced
}

/**
 * The verdict on `Mcp-Param-*` header findings: injection past the threshold blocks, and so does any
 * finding that would block, redact or strip the value; anything else is allowed.
 */
function paramHeaderVerdict(findings: Finding[], injectionThreshold: number): Verdict {
  if (combineInjection(findings) >= injectionThreshold) return { action: 'block', reason: 'injection', findings }
  const blocking = findings.find((f) => f.action === 'block' || f.action === 'redact' || f.action === 'strip')
  if (blocking === undefined) return { action: 'allow', findings }
  if (blocking.kind === 'error') return { action: 'block', reason: 'inspection-error', findings }
  return { action: 'block', reason: 'policy', findings }
}
