/**
 * MCP protocol revisions and their eras. Legacy revisions (2025-03-26 … 2025-11-25) use the
 * initialize handshake and sessions; 2026-07-28 is stateless (mcp-protocol.md §0).
 */
export type ProtocolEra = 'legacy' | 'modern'
