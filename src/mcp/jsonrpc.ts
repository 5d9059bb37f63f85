/**
 * JSON-RPC 2.0 message types as MCP uses them. Parsing and validation live beside these types.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue
}

export type JsonRpcId = string | number

export interface JsonRpcRequest {
  jsonrpc: '2.0'
  id: JsonRpcId
  method: string
  params?: JsonObject
}
export interface JsonRpcNotification {
  jsonrpc: '2.0'
  method: string
  params?: JsonObject
}
export interface JsonRpcResultResponse {
  jsonrpc: '2.0'
  id: JsonRpcId
  result: JsonObject
}
export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: JsonValue
}
export interface JsonRpcErrorResponse {
  jsonrpc: '2.0'
  id: JsonRpcId | null
  error: JsonRpcErrorObject
}
export type JsonRpcResponse = JsonRpcResultResponse | JsonRpcErrorResponse
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse
