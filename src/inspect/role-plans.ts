/**
 * Roles of a message's fields by method (mcp-protocol.md §3 rows; §4.4 (b) for responses whose request
 * is unknown): which role a section's fields take, which top-level keys take another, and where a 2026
 * MRTR map nests exchanges whose own method decides.
 */
import type { Direction, FieldRole } from './types'
import { isRecord } from '../record'

/** How a section's top-level keys get their roles. */
export interface Plan {
  base: FieldRole
  keys?: ReadonlyMap<string, FieldRole>
  /** The section's `inputRequests` (results) or `inputResponses` (params) map holds 2026 MRTR exchanges. */
  map?: 'requests' | 'responses'
  /** The section's string `requestState` is the protocol's opaque MRTR state: not scanned. */
  opaqueState?: boolean
}

const ARGUMENTS = new Map<string, FieldRole>([['arguments', 'arguments']])
const COMPLETION_ARGUMENTS = new Map<string, FieldRole>([['argument', 'arguments'], ['context', 'arguments']])

/** Roles of request / notification `params` by method. */
export function paramsPlan(method: string): Plan {
  switch (method) {
    case 'tools/call':
    case 'prompts/get':
      return { base: 'other', keys: ARGUMENTS, map: 'responses' }
    case 'completion/complete':
      return { base: 'other', keys: COMPLETION_ARGUMENTS, map: 'responses' }
    case 'sampling/createMessage':
      return { base: 'sampling', map: 'responses' }
    case 'elicitation/create':
      return { base: 'elicitation', map: 'responses' }
  }
  return { base: method.startsWith('notifications/') ? 'notification' : 'other', map: 'responses' }
}

const RESULT_ROLES = new Map<string, FieldRole>([
  ['tools/list', 'tool-definition'],
  ['prompts/list', 'prompt-definition'],
  ['resources/list', 'prompt-definition'],
  ['resources/templates/list', 'prompt-definition'],
  ['tools/call', 'tool-result'],
  // Tasks (2025-11-25): tasks/result carries the deferred CallToolResult; the others a task's status text.
  ['tasks/result', 'tool-result'],
  ['tasks/get', 'tool-result'],
  ['tasks/list', 'tool-result'],
  ['tasks/cancel', 'tool-result'],
  ['resources/read', 'resource'],
  ['prompts/get', 'prompt'],
  ['sampling/createMessage', 'sampling'],
  ['elicitation/create', 'elicitation'],
  ['initialize', 'instructions'],
  ['server/discover', 'instructions'],
  ['completion/complete', 'completion'],
])

/** Roles of a `result` by the method it answers. */
export function resultPlan(method: string | undefined): Plan {
  return { base: (method !== undefined && RESULT_ROLES.get(method)) || 'other', map: 'requests' }
}

/**
 * The method a result answers, guessed from its shape (§4.4 (b)) when the request is unknown. Only
 * shapes the sender may produce count: a client answers sampling, elicitation and roots requests;
 * a server everything else.
 */
export function methodByShape(result: unknown, direction: Direction): string | undefined {
  if (!isRecord(result)) return undefined
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(result, key)
  if (direction === 'client_to_server') {
    if (has('model') && has('role')) return 'sampling/createMessage'
    if (has('action')) return 'elicitation/create'
    if (has('roots')) return 'roots/list'
    return undefined
  }
  if (has('tools')) return 'tools/list'
  if (has('contents')) return 'resources/read'
  if (has('messages')) return 'prompts/get'
  if (has('completion')) return 'completion/complete'
  if (has('content') || has('isError') || has('structuredContent')) return 'tools/call'
  if (has('task')) return 'tasks/get'
  if (has('prompts')) return 'prompts/list'
  if (has('resources')) return 'resources/list'
  if (has('resourceTemplates')) return 'resources/templates/list'
  if (has('instructions') || has('serverInfo') || has('protocolVersion')) return 'initialize'
  return undefined
}

/** 2026 MRTR `result.inputRequests.<key>` is a server → client request: its own method decides the role. */
export function innerRequestRole(request: unknown): FieldRole {
  const method = isRecord(request) && typeof request['method'] === 'string' ? request['method'] : ''
  return paramsPlan(method).base
}
