/**
 * The inspection contract. Every detector and policy speaks these types; nothing here depends on HTTP.
 *
 * A message is inspected as a list of `ScanField`s: every string (and object key) in its `params`,
 * `result` or `error`, addressed by JSON pointer and tagged with the role the MCP schema gives it, plus
 * one synthetic field per message that joins its text content blocks so a payload split across blocks
 * is seen whole. Detectors are pure, synchronous functions of one field.
 */
import type { JsonRpcMessage, JsonValue } from '../mcp/jsonrpc'
import type { ProtocolEra } from '../mcp/era'

export type Direction = 'client_to_server' | 'server_to_client'

export type FindingKind = 'injection' | 'secret' | 'pii' | 'unicode' | 'policy' | 'exfiltration' | 'shadowing' | 'error'

/** What a finding asks the pipeline to do with the text it covers. */
export type RuleAction = 'block' | 'redact' | 'strip' | 'flag'

/**
 * Where in an MCP message a string sits, as far as detection cares. Roles let a rule target
 * "tool descriptions" or "tool results" without knowing every method's JSON shape.
 */
export type FieldRole =
  | 'tool-definition' //  tools/list: name, title, description, annotations, schema strings and keys
  | 'prompt-definition' // prompts/list, resources/list, resources/templates/list metadata
  | 'tool-result' //      tools/call and tasks/result content, structuredContent, _meta
  | 'resource' //         resources/read contents
  | 'prompt' //           prompts/get messages and description
  | 'sampling' //         sampling/createMessage params and the client's reply
  | 'elicitation' //      elicitation/create params and the client's reply
  | 'instructions' //     initialize / server/discover instructions and serverInfo
  | 'arguments' //        client → server: tools/call arguments, prompts/get arguments, completion values sent
  | 'completion' //       completion/complete result values
  | 'notification' //     log data, progress messages, cancellation reasons
  | 'error' //            error.message / error.data
  | 'other' //            anything else (metadata, client info, unknown methods)

/** Text prepared for detection: normalised once, with a map back to the original string. */
export interface NormalizedText {
  /** Normalised text (NFKC, invisible characters removed, whitespace folded, confusables mapped, decoded). */
  readonly text: string
  /** Maps a UTF-16 offset in `text` (0..text.length inclusive) to the offset in the original string. */
  toOriginal(offset: number): number
  /**
   * Maps the END offset of a span in `text` to the original, rounding up to the end of the source of the
   * last character (a match ending inside an expansion such as `ﬁ` → `fi` still covers the whole `ﬁ`).
   */
  toOriginalEnd(offset: number): number
  /** True when `text` is printable ASCII only, so views that only touch other characters can skip it. */
  readonly ascii?: boolean
}

export interface ScanField {
  /** JSON pointer (RFC 6901) into the message; for the joined field, the pointer of the content array. */
  readonly path: string
  readonly role: FieldRole
  /** True when the string is an object key rather than a value (keys can be blocked, not redacted). */
  readonly isKey: boolean
  /** True for the synthetic field joining a message's text content blocks (scored, never redacted). */
  readonly joined: boolean
  /** The original string as it appears in the message. */
  readonly raw: string
  /** Normalised text, computed on first use and shared by every detector. */
  readonly normalized: NormalizedText
}

export interface Finding {
  /** Stable kebab-case rule id, e.g. `unicode-tag-characters`. */
  ruleId: string
  kind: FindingKind
  /** JSON pointer of the field. */
  path: string
  /** [start, end) in the field's original string (not the normalised one). */
  span?: [number, number]
  /** 0..1. Injection scores are combined across detectors; other kinds use `action`. */
  score: number
  /** What the rule asks for; the tenant's policy may override it. Absent means `flag`. */
  action?: RuleAction
}

/** Everything a detector may know about a message besides its text. */
export interface MessageContext {
  tenantId: string
  direction: Direction
  /** The JSON-RPC method, or for a response the method of the request it answers (when known). */
  method?: string
  /** Tool name for tools/call requests and their results. */
  toolName?: string
  sessionId?: string
  /** The firewall's request id (also sent to clients in error data). */
  requestId: string
  era: ProtocolEra
  /** The verified client identity, once an authenticating mode is configured. */
  identity?: string
  /**
   * For a tool result whose tool was pinned with an `outputSchema` (a `tools/call` or `tasks/result`
   * answer, a 2026-07-28 task's final result in `tasks/get` or `notifications/tasks`): whether a
   * (redacted) `structuredContent` still fits it. Absent when the schema is not known here.
   */
  fitsOutput?: (structured: JsonValue) => boolean
}

/**
 * A pure detector over one field: its findings depend only on the field's string, role and kind and on
 * the message's direction (the pipeline remembers them for definition strings, `memo.ts`), except that a
 * detector with a per-message work budget reports a spent one as a finding of kind `error`, which is
 * never remembered. Throwing is allowed: the pipeline fails closed.
 */
export interface Detector {
  readonly id: string
  detect(field: ScanField, ctx: MessageContext): Finding[]
}

export type Verdict = (
  | { action: 'allow'; findings: Finding[] }
  | { action: 'modify'; message: JsonRpcMessage; findings: Finding[] }
  | { action: 'block'; findings: Finding[]; reason: BlockReason }
) & {
  /**
   * What rules running in monitor mode (a pack's `mode: "monitor"`, or newer than its `enforceVersion`)
   * would have made of the message, set only when more than `action` (`modify` on a `modify`: they would
   * have redacted or stripped more of it): logged, never applied.
   */
  staged?: 'modify' | 'block'
  /**
   * Items the pipeline counted for the message (`src/inspect/work.ts`: values and keys visited, findings
   * made), set by `inspect`; past `MAX_INSPECTION_ITEMS` the message was refused at the first item over.
   */
  work?: number
}

/** Coarse reason sent to clients (rule ids are the tenant's to reveal). */
export type BlockReason = 'injection' | 'secret' | 'pii' | 'unicode' | 'policy' | 'denied-tool' | 'inspection-error' | 'exfiltration' | 'shadowing'
