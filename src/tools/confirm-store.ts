/**
 * Confirmations of sensitive calls by their user (elicitation), kept in the `ToolPins` object's SQLite
 * next to the operator approvals (`call-store.ts`). One object per tenant, so the isolate holding a
 * legacy call and the isolate receiving the client's answer (another POST, maybe another location)
 * meet here: the answer is written to the row and wakes the waiting RPC.
 *
 * Rows are bound to the call (its hash covers origin, tool, identity and canonical arguments) and the
 * caller, are used at most once and expire; their ids are 128 random bits and are the only thing a client
 * ever holds, so no secret is needed to trust them (a forged or replayed id finds no row).
 *
 * Tables (docs/storage.md):
 *   confirm_sessions(session, identity, expires_at)   legacy sessions whose initialize declared form elicitation
 *   confirmations(id, kind, call_hash, identity, session, state_hash, answer, expires_at)
 */
import type { CallStore } from './call-store'
import { hex } from '../hex'
import {
  approvalIdOf,
  type AnswerConfirmationArgs,
  type AwaitConfirmationArgs,
  type ConfirmationOutcome,
  type OpenConfirmationArgs,
  type OpenContinuationArgs,
  type RedeemArgs,
  type SessionArgs,
} from './pin-types'

/** A legacy session's declaration is kept this long after its initialize (or its last confirmation). */
const SESSION_TTL_MS = 24 * 3600 * 1000
/** Open confirmations and continuations per tenant; past it, new ones are refused (the call is refused as before). */
const MAX_OPEN = 10_000
/**
 * The same per caller (its verified identity, else its legacy session): one client asking for
 * confirmations it never answers fills its own share, not the tenant's, so other users can still confirm.
 * A caller with neither (no client auth, 2026-07-28) can only be counted against the tenant's cap.
 */
const MAX_OPEN_PER_CALLER = 100
/** A legacy answer is accepted a little past the waiter's own deadline, so a just-in-time answer is not lost to clock skew. */
const ANSWER_GRACE_MS = 2_000

interface ConfirmationRow extends Record<string, SqlStorageValue> {
  id: string
  kind: string
  call_hash: string
  identity: string | null
  session: string | null
  state_hash: string | null
  answer: string | null
  expires_at: number
}

export class ConfirmStore {
  /** Waiting legacy calls, by confirmation id: called when the answer is written (in this object's memory). */
  readonly #waiters = new Map<string, () => void>()

  constructor(
    private readonly sql: SqlStorage,
    private readonly calls: CallStore,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS confirm_sessions (session TEXT PRIMARY KEY, identity TEXT, expires_at INTEGER NOT NULL)`)
    sql.exec(`CREATE TABLE IF NOT EXISTS confirmations (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, call_hash TEXT NOT NULL, identity TEXT, session TEXT,
      state_hash TEXT, answer TEXT, expires_at INTEGER NOT NULL)`)
  }

  /** Remembers that a legacy session can confirm calls (its initialize declared form elicitation). */
  rememberSession(a: SessionArgs, now: number): void {
    this.sql.exec(`DELETE FROM confirm_sessions WHERE expires_at < ?`, now)
    this.sql.exec(`INSERT OR REPLACE INTO confirm_sessions (session, identity, expires_at) VALUES (?, ?, ?)`, a.session, a.identity, now + SESSION_TTL_MS)
  }

  /**
   * Opens a confirmation for a call and returns its id; null when the legacy session never declared
   * form elicitation (or belongs to another identity), or too many are open.
   */
  open(a: OpenConfirmationArgs, now: number): { id: string } | null {
    this.#expire(now)
    if (a.kind === 'stream') {
      const known = a.session !== undefined && this.sql.exec(`SELECT 1 FROM confirm_sessions WHERE session = ? AND identity IS ? AND expires_at >= ?`, a.session, a.identity, now).toArray().length > 0
      if (!known) return null
      this.sql.exec(`UPDATE confirm_sessions SET expires_at = ? WHERE session = ?`, now + SESSION_TTL_MS, a.session)
    }
    return this.#insert(a.kind, a.callHash, a.identity, a.session ?? null, null, now + a.ttlMs + (a.kind === 'stream' ? ANSWER_GRACE_MS : 0))
  }

  /** Wraps an origin's `requestState` (by its hash) for the next leg of an approved call. */
  openContinuation(a: OpenContinuationArgs, now: number): { id: string } | null {
    this.#expire(now)
    return this.#insert('continue', a.callHash, a.identity, null, a.stateHash, now + a.ttlMs)
  }

  /**
   * A 2026-07-28 retry presenting a firewall `requestState`. A row matching the call and caller is used up
   * whatever the answer; a confirmed one records the approval (granted by "elicitation", used at once).
   */
  redeem(a: RedeemArgs, now: number): ConfirmationOutcome {
    const row = this.#row(a.id, a.kind === 'confirm' ? 'mrtr' : 'continue')
    if (!row || row.call_hash !== a.callHash || row.identity !== a.identity) return 'invalid'
    this.sql.exec(`DELETE FROM confirmations WHERE id = ?`, a.id)
    if (row.expires_at < now) return 'invalid'
    if (a.kind === 'continue') return row.state_hash === a.stateHash ? 'granted' : 'invalid'
    return this.#decide(row, a.confirmed ? 'accept' : 'decline', now)
  }

  /**
   * A legacy client's answer, from the session the question was asked on. True when it was taken
   * (written and its waiter woken); false when there is no such open question for this session.
   */
  answer(a: AnswerConfirmationArgs, now: number): boolean {
    const row = this.#row(a.id, 'stream')
    if (!row || row.session !== a.session || row.identity !== a.identity || row.answer !== null || row.expires_at < now) return false
    this.sql.exec(`UPDATE confirmations SET answer = ? WHERE id = ?`, a.confirmed ? 'accept' : 'decline', a.id)
    this.#waiters.get(a.id)?.()
    return true
  }

  /** Waits (at most `timeoutMs`) for the answer to a legacy confirmation, then uses the row up. */
  async await(a: AwaitConfirmationArgs): Promise<ConfirmationOutcome> {
    let row = this.#row(a.id, 'stream')
    if (!row || row.call_hash !== a.callHash || row.identity !== a.identity) return 'invalid'
    if (row.answer === null) {
      await this.#answered(a.id, Math.max(0, Math.min(a.timeoutMs, row.expires_at - ANSWER_GRACE_MS - Date.now())))
      row = this.#row(a.id, 'stream')
      if (!row) return 'invalid'
    }
    this.sql.exec(`DELETE FROM confirmations WHERE id = ?`, a.id)
    if (row.answer === null) return 'timeout'
    return this.#decide(row, row.answer === 'accept' ? 'accept' : 'decline', Date.now())
  }

  purge(): void {
    this.sql.exec(`DELETE FROM confirm_sessions`)
    this.sql.exec(`DELETE FROM confirmations`)
  }

  #decide(row: ConfirmationRow, answer: 'accept' | 'decline', now: number): ConfirmationOutcome {
    if (answer !== 'accept') return 'declined'
    this.calls.grantOnce(approvalIdOf(row.call_hash), 'elicitation', now)
    return 'granted'
  }

  /** Resolves when the answer is written or after `ms`, whichever comes first. */
  #answered(id: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#waiters.delete(id)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#waiters.set(id, done)
    })
  }

  #insert(kind: string, callHash: string, identity: string | null, session: string | null, stateHash: string | null, expiresAt: number): { id: string } | null {
    if (this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM confirmations`).one().n >= MAX_OPEN) return null
    const caller = identity !== null ? ['identity', identity] : session !== null ? ['session', session] : undefined
    if (caller && this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM confirmations WHERE ${caller[0]} = ?`, caller[1]).one().n >= MAX_OPEN_PER_CALLER) return null
    const id = randomId()
    this.sql.exec(
      `INSERT INTO confirmations (id, kind, call_hash, identity, session, state_hash, answer, expires_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)`,
      id, kind, callHash, identity, session, stateHash, expiresAt,
    )
    return { id }
  }

  #row(id: string, kind: string): ConfirmationRow | null {
    return this.sql.exec<ConfirmationRow>(`SELECT * FROM confirmations WHERE id = ? AND kind = ?`, id, kind).toArray()[0] ?? null
  }

  /** Drops expired rows; a legacy row being waited on is never expired under its waiter (its deadline is later). */
  #expire(now: number): void {
    this.sql.exec(`DELETE FROM confirmations WHERE expires_at < ?`, now)
  }
}

/** 128 random bits as 32 hex digits. */
function randomId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)))
}
