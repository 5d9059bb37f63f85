/**
 * The MCP messages the benchmarks send and receive: `tools/call` requests and results of a chosen
 * size, and a large `tools/list` result. Shapes follow the MCP schema (2025-11-25 `CallToolResult`,
 * `ListToolsResult`); texts come from `prose()` so detectors see realistic input.
 */
import { prose } from './prose.js'

/** The tool the origin serves; its arguments pick the answer's size and transport. */
export const BENCH_TOOL = 'fetch_report'

/** How the origin answers a POST (Streamable HTTP allows either; 2025-11-25 transports §"Sending Messages"). */
export type ResponseMode = 'json' | 'sse'

/** A `tools/call` request asking the bench origin for a result of `size` bytes in `mode`. */
export function toolsCallRequest(id: number, size: number, mode: ResponseMode): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: BENCH_TOOL, arguments: { size, mode } } })
}

/**
 * The `result` of a `tools/call` whose whole JSON-RPC response (with a 6-digit id) serialises to
 * about `size` bytes: one text content block of prose.
 */
export function toolsCallResult(size: number, seed = size): { content: Array<{ type: 'text'; text: string }> } {
  const envelope = JSON.stringify({ jsonrpc: '2.0', id: 100000, result: { content: [{ type: 'text', text: '' }] } }).length
  let text = prose(Math.max(0, size - envelope), seed)
  // JSON escapes (`\n` → `\\n`) make the serialisation longer than the text; trim until it fits.
  while (text.length > 0 && JSON.stringify(text).length - 2 + envelope > size) {
    text = text.slice(0, text.length - (JSON.stringify(text).length - 2 + envelope - size))
  }
  return { content: [{ type: 'text', text }] }
}

/** Distinct texts per size; consecutive request ids get different ones. */
export const VARIANTS = 16

/** Which of a size's texts answers request `id`. */
export function variantOf(id: number | string): number {
  return typeof id === 'number' ? Math.abs(Math.trunc(id)) % VARIANTS : 0
}

/** Variant `variant` of a size's `tools/call` result; variant 0 is {@link toolsCallResult}'s own. */
export function variantText(size: number, variant: number): { content: Array<{ type: 'text'; text: string }> } {
  return toolsCallResult(size, size + variant * 7919)
}

/**
 * A `tools/call` result of `count` database-style rows, as `structuredContent` and as its JSON text (what
 * the 2025-06-18 spec asks servers to send): thousands of short fields rather than one long one.
 */
export function structuredRowsResult(count: number, seed = 0): { content: Array<{ type: 'text'; text: string }>; structuredContent: { rows: unknown[] } } {
  const rows = Array.from({ length: count }, (_, i) => ({
    id: seed + 1000 + i,
    name: `Item ${seed + i}`,
    status: i % 2 ? 'active' : 'archived',
    owner: `user${(seed + i) % 7}`,
    region: 'eu-west',
    tags: ['alpha', 'beta'],
    updated: '2026-11-02T10:00:00Z',
  }))
  return { content: [{ type: 'text', text: JSON.stringify({ rows }) }], structuredContent: { rows } }
}

/** A `tools/list` result of `count` realistic tool definitions (description, JSON Schema, annotations). */
export function toolsListResult(count: number): { tools: unknown[] } {
  const tools: unknown[] = []
  for (let i = 0; i < count; i++) {
    tools.push({
      name: `report_tool_${i}`,
      title: `Report tool ${i}`,
      description: prose(160 + (i % 5) * 60, 1000 + i),
      inputSchema: {
        type: 'object',
        properties: {
          query: { type: 'string', description: prose(60, 5000 + i) },
          limit: { type: 'integer', minimum: 1, maximum: 500, description: 'Maximum number of rows to return.' },
          region: { type: 'string', enum: ['north', 'south', 'east', 'west'] },
        },
        required: ['query'],
      },
      annotations: { readOnlyHint: i % 3 !== 0, openWorldHint: false },
    })
  }
  return { tools }
}
