/**
 * What the exchange reads off a single JSON-RPC message (its method, the tool it calls, the target the
 * firewall's checks key on) and the answers it gives the origin for a server request the client will
 * never see (mcp-protocol.md §4.5–4.6).
 */
import type { JsonObject, JsonRpcId, JsonRpcMessage, JsonRpcResponse } from '../mcp/jsonrpc'
import { getOwn } from '../mcp/jsonrpc'

/** The method a request or notification names; undefined for a response. */
export function methodOf(message: JsonRpcMessage): string | undefined {
  return 'method' in message ? message.method : undefined
}

/** The requests whose target names what the firewall's checks key on. */
const TARGET_PARAM: ReadonlyMap<string, 'name' | 'uri'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['resources/subscribe', 'uri'],
  ['resources/unsubscribe', 'uri'],
])

/** The target parameter a request lacks as a string (`name` or `uri`), or undefined when it has it. */
export function missingTarget(method: string, params: JsonObject | undefined): 'name' | 'uri' | undefined {
  const key = TARGET_PARAM.get(method)
  if (key === undefined) return undefined
  return params && typeof getOwn(params, key) === 'string' ? undefined : key
}

/** The tool a `tools/call` names, when it names one. */
export function toolNameOf(message: JsonRpcMessage): string | undefined {
  if (!('method' in message) || message.method !== 'tools/call') return undefined
  const name = message.params?.['name']
  return typeof name === 'string' ? name : undefined
}

/** A rejection the origin accepts for a server request the client will never see. */
export function rejection(id: JsonRpcId | null): JsonRpcResponse {
  // -1 is the spec's "user rejected sampling" (client/sampling.mdx §Error Handling).
  return { jsonrpc: '2.0', id, error: { code: -1, message: 'Rejected by policy' } }
}

/** Answer for a blocked server → client request: elicitations are declined, anything else rejected. */
export function onBehalfAnswer(method: string, id: JsonRpcId): JsonRpcResponse {
  if (method === 'elicitation/create') return { jsonrpc: '2.0', id, result: { action: 'decline' } }
  return rejection(id)
}
