/**
 * The RPC contract of the `ToolPins` Durable Object: argument schemas (validated inside the object, so a
 * bad caller fails closed) and the shapes it returns. No Workers imports: tests in Node can name these.
 */
import { z } from 'zod'
import { TenantId } from '../tenant/config'

/** Largest canonical definition the firewall pins; a bigger one is never approved. */
export const MAX_DEFINITION_CHARS = 256 * 1024
/** Pins kept per tenant and origin; names beyond it are reported pending and never approved. */
export const MAX_PINS_PER_ORIGIN = 5_000
/**
 * Definitions one list answer may hold for the tool gate to judge it (a page a client gets, or the whole
 * list the firewall fetches itself): no more than an origin can have pinned. A longer one is refused
 * before any of its definitions is compared, scanned or recorded (docs/tool-integrity.md, "Limits").
 */
export const MAX_LISTED_DEFINITIONS = MAX_PINS_PER_ORIGIN
/** Rejected definitions remembered per pin (so a re-served one is recognised without an object call). */
export const MAX_REJECTED_PER_PIN = 10

export const PinKind = z.enum(['tool', 'prompt', 'resourceTemplate'])
export const PinName = z.string().min(1).max(200)
/** The origin a pin belongs to: the tenant's origin URL as configured. */
export const OriginKey = z.string().min(1).max(2048)
const Actor = z.string().min(1).max(200)

/** Longest finding path stored with a pin: a JSON pointer under origin-chosen schema keys can be longer (pins.ts cuts it). */
export const MAX_FINDING_PATH = 2048
export const DefinitionFinding = z.object({ ruleId: z.string().max(200), kind: z.string().max(50), path: z.string().max(MAX_FINDING_PATH), score: z.number() }).strict()

export const Observation = z
  .object({
    kind: PinKind,
    name: PinName,
    /** Canonical JSON of the pinned fields (src/tools/canonical.ts). */
    definition: z.string().min(2).max(MAX_DEFINITION_CHARS),
    /** The definition scan's verdict (src/tools/scan.ts), made in the isolate with the tenant's detectors. */
    scan: z.object({ held: z.boolean(), score: z.number().min(0).max(1), findings: z.array(DefinitionFinding).max(50) }).strict(),
  })
  .strict()
export type Observation = z.infer<typeof Observation>

export const ObserveArgs = z
  .object({
    tenant: TenantId,
    origin: OriginKey,
    /** The tenant's volatile paths: left out when definitions are compared. */
    volatile: z.array(z.string().max(300)).max(50),
    items: z.array(Observation).min(1).max(500),
  })
  .strict()
export type ObserveArgs = z.infer<typeof ObserveArgs>

/** A lower-case hex SHA-256 (definition hashes, call hashes, hashed session ids). */
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/)
/** The longest verified identity: a JWT subject may be 1,024 units (`MAX_SUBJECT_CHARS`, src/auth/jwt.ts). */
const MAX_IDENTITY_CHARS = 1024
/** The verified caller a call is bound to, or null for none. */
const CallIdentity = z.string().max(MAX_IDENTITY_CHARS).nullable()

export const DecideArgs = z
  .object({
    origin: OriginKey,
    kind: PinKind,
    name: PinName,
    decision: z.enum(['approve', 'reject']),
    by: Actor,
    /** Optional guard: the decision applies only if the definition under review still has this hash. */
    expectHash: Sha256.optional(),
  })
  .strict()
export type DecideArgs = z.infer<typeof DecideArgs>

export const ApproveAllArgs = z.object({ origin: OriginKey, by: Actor, kind: PinKind.optional() }).strict()
export type ApproveAllArgs = z.infer<typeof ApproveAllArgs>

/**
 * Longest arguments text an operator can be asked to grant: the call's canonical JSON as shown, with the
 * characters a person would not see written as `\u` escapes (unseen.ts). The object stores it whole, and
 * lists up to 500 waiting calls, so one listing stays within a few MB. A longer call is refused outright
 * (`approval-arguments-too-long`): keys are sorted, so a caller picks what a cut would hide (a long `memo`
 * before `to`), and an operator must never grant arguments they were not shown.
 */
export const MAX_APPROVABLE_ARGUMENTS = 16 * 1024

/**
 * Calls waiting for an operator's grant (or granted and not yet used) per tenant: every one of them fits
 * one listing (`GET …/tools/calls`), and the table stays within a few MB however a caller varies its
 * arguments. A new request past it is not recorded: its call is refused (`approval-requests-full`) unless
 * its user confirms it through elicitation, which needs no request.
 */
export const MAX_WAITING_CALLS = 500
/**
 * The same per verified identity: one caller asking for calls nobody grants fills its own share, not the
 * tenant's, so other callers' requests are still recorded. A caller without one (no client
 * authentication) can only be counted against the tenant's cap.
 */
export const MAX_WAITING_CALLS_PER_IDENTITY = 50

export const CallRequestArgs = z
  .object({
    origin: OriginKey,
    tool: PinName,
    identity: CallIdentity,
    /** SHA-256 of the canonical {origin, tool, identity, arguments}: what an approval is for. */
    callHash: Sha256,
    /** Canonical JSON of the arguments, whole: what the approver is shown. A cut one is not JSON, and is refused. */
    arguments: z.string().max(MAX_APPROVABLE_ARGUMENTS).refine(isJsonText, 'not a JSON text'),
    windowSeconds: z.number().int().min(10).max(86_400),
  })
  .strict()
export type CallRequestArgs = z.infer<typeof CallRequestArgs>

/** An approval id as operators see it: the first 24 hex digits of the call's hash (`approvalIdOf`). */
export const ApprovalId = z.string().regex(/^[0-9a-f]{24}$/)

export const GrantCallArgs = z.object({ id: ApprovalId, by: Actor }).strict()
export type GrantCallArgs = z.infer<typeof GrantCallArgs>

export const RejectCallArgs = z.object({ id: ApprovalId }).strict()
export type RejectCallArgs = z.infer<typeof RejectCallArgs>

/** A call monitor mode asks about: whether enforce mode would run it on an operator's grant (nothing is written). */
export const PeekCallArgs = z.object({ callHash: Sha256 }).strict()
export type PeekCallArgs = z.infer<typeof PeekCallArgs>

export const RestoreCallArgs = z.object({ id: ApprovalId, usedAt: z.number().int().nonnegative() }).strict()
export type RestoreCallArgs = z.infer<typeof RestoreCallArgs>

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** The approval id of a call: the first 24 hex digits of its hash (what operators see and grant). */
export function approvalIdOf(callHash: string): string {
  return callHash.slice(0, 24)
}

const ConfirmationId = z.string().regex(/^[0-9a-f]{32}$/)

/** A legacy session whose `initialize` declared form elicitation (`session`: SHA-256 of its `Mcp-Session-Id`). */
export const SessionArgs = z.object({ session: Sha256, identity: CallIdentity }).strict()
export type SessionArgs = z.infer<typeof SessionArgs>

/**
 * A confirmation the firewall asks the user for: `mrtr` (2026-07-28, answered on the client's retry) or
 * `stream` (legacy, answered by a separate POST on `session`, which must have declared form elicitation).
 */
export const OpenConfirmationArgs = z
  .object({
    kind: z.enum(['mrtr', 'stream']),
    callHash: Sha256,
    identity: CallIdentity,
    session: Sha256.optional(),
    ttlMs: z.number().int().min(1_000).max(3_600_000),
  })
  .strict()
export type OpenConfirmationArgs = z.infer<typeof OpenConfirmationArgs>

/** An origin's own `requestState` on an approved call, wrapped so the client's retry still counts as approved. */
export const OpenContinuationArgs = z
  .object({ callHash: Sha256, identity: CallIdentity, stateHash: Sha256.nullable(), ttlMs: z.number().int().min(1_000).max(86_400_000) })
  .strict()
export type OpenContinuationArgs = z.infer<typeof OpenContinuationArgs>

/** A 2026-07-28 retry presenting a firewall `requestState`: consumed when it matches the call. */
export const RedeemArgs = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('confirm'), id: ConfirmationId, callHash: Sha256, identity: CallIdentity, confirmed: z.boolean() }).strict(),
  z.object({ kind: z.literal('continue'), id: ConfirmationId, callHash: Sha256, identity: CallIdentity, stateHash: Sha256.nullable() }).strict(),
])
export type RedeemArgs = z.infer<typeof RedeemArgs>

/** A legacy client's answer to the firewall's `elicitation/create`, from its session. */
export const AnswerConfirmationArgs = z.object({ id: ConfirmationId, session: Sha256, identity: CallIdentity, confirmed: z.boolean() }).strict()
export type AnswerConfirmationArgs = z.infer<typeof AnswerConfirmationArgs>

/** The isolate holding a legacy call waits for its answer, at most `timeoutMs`. */
/** A task a call created (2025-11-25 tasks), by the origin's task id, and the tool it runs. */
/** The kinds an origin announces list changes for (`notifications/tools/list_changed`, `…/prompts/list_changed`). */
export const ListedKind = z.enum(['tool', 'prompt'])
export type ListedKind = z.infer<typeof ListedKind>
export const ListChangedArgs = z.object({ origin: OriginKey, kind: ListedKind }).strict()
export type ListChangedArgs = z.infer<typeof ListChangedArgs>
/** `marker`: the `stale` value the edge read before it listed; a later announcement keeps the list stale. */
export const ListCheckedArgs = z.object({ origin: OriginKey, kind: ListedKind, marker: z.number().int().min(0) }).strict()
export type ListCheckedArgs = z.infer<typeof ListCheckedArgs>

/** `identity`: the verified identity whose call created the task; null without client authentication. */
export const TaskArgs = z.object({ origin: OriginKey, taskId: z.string().min(1).max(512), tool: PinName, ttlMs: z.number().int().min(1).max(7 * 24 * 3600 * 1000), identity: CallIdentity }).strict()
export type TaskArgs = z.infer<typeof TaskArgs>
export const TaskLookupArgs = z.object({ origin: OriginKey, taskId: z.string().min(1).max(512) }).strict()
export type TaskLookupArgs = z.infer<typeof TaskLookupArgs>
/** The task ids of one `tasks/list` page, for the identity that asked. */
export const TaskListArgs = z.object({ origin: OriginKey, identity: z.string().min(1).max(MAX_IDENTITY_CHARS), taskIds: z.array(z.string().min(1).max(512)).max(1_000) }).strict()
export type TaskListArgs = z.infer<typeof TaskListArgs>

export const AwaitConfirmationArgs = z.object({ id: ConfirmationId, callHash: Sha256, identity: CallIdentity, timeoutMs: z.number().int().min(10).max(600_000) }).strict()
export type AwaitConfirmationArgs = z.infer<typeof AwaitConfirmationArgs>

/**
 * `granted`: the user confirmed (the approval is recorded, `granted_by` "elicitation", and used) or a
 * continuation matched. `declined`: decline, cancel or `confirm: false`. `timeout`: no answer in time.
 * `invalid`: no such confirmation for this call and caller, already used, or expired.
 */
export type ConfirmationOutcome = 'granted' | 'declined' | 'timeout' | 'invalid'

export type PinState = 'approved' | 'pending' | 'rejected'

/** One pin as the edge caches it: definitions only, compared in the isolate. */
export interface PinEntry {
  kind: z.infer<typeof PinKind>
  name: string
  state: PinState
  /** Canonical approved definition, or null when nothing was ever approved. */
  approved: string | null
  /** The definition under review (`pending`) or refused (`rejected`), or null. */
  candidate: string | null
  /** Earlier refused definitions (at most MAX_REJECTED_PER_PIN). */
  rejected: string[]
}

/** Every pin of one tenant and origin, with the object's change counter. */
export interface PinSet {
  origin: string
  version: number
  entries: PinEntry[]
  /**
   * Per kind, the version at which the origin announced a changed list that no edge has listed since:
   * every edge lists the origin before it decides the next call (src/tools/list-changed.ts). Absent from
   * copies cached before it existed.
   */
  stale?: Partial<Record<ListedKind, number>>
}

export interface ObserveResult {
  set: PinSet
  /** Definitions that became pending with this call (an alert went out for them). */
  pending: Array<{ kind: z.infer<typeof PinKind>; name: string; change: 'added' | 'changed' }>
}

/** One pin as the admin API shows it. */
export interface PinView {
  origin: string
  kind: z.infer<typeof PinKind>
  name: string
  state: PinState
  firstSeen: string
  approved: { hash: string; definition: string; at: string; by: string } | null
  candidate: {
    hash: string
    definition: string
    since: string
    reason: 'new' | 'changed'
    findings: Array<z.infer<typeof DefinitionFinding>>
    decidedAt: string | null
    decidedBy: string | null
  } | null
}

export type DecideResult = { ok: true; pin: PinView } | { ok: false; error: 'not_found' | 'nothing_pending' | 'hash_mismatch' | 'invalid_request' }

/**
 * `usedAt` identifies the use, to give the grant back (`restoreCall`) when the call is refused after all.
 * `full`: the request was not recorded, the tenant or the caller having too many calls waiting already.
 */
export type CallDecision = { granted: true; usedAt: number } | { granted: false; id: string } | { granted: false; full: true }

/** A call waiting for (or holding) an approval. */
export interface CallApprovalView {
  id: string
  origin: string
  tool: string
  identity: string | null
  /** The canonical JSON the approval covers, whole, with characters a person would not see as `\u` escapes (unseen.ts). */
  arguments: string
  requestedAt: string
  windowSeconds: number
  grantedAt: string | null
  grantedBy: string | null
  expiresAt: string | null
}
