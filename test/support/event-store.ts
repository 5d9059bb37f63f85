/**
 * An in-memory `EventStore` for the SDK 1.32.2 Streamable HTTP server transport, so the test origin
 * sends priming events and can replay a stream after `GET` + `Last-Event-ID` (2025-11-25 transports
 * §"Resumability and Redelivery"). One store belongs to one session: the SDK names every session's
 * standalone GET stream `_GET_stream`, so a store shared across sessions would mix their replays.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'

interface StoredEvent {
  readonly streamId: string
  readonly seq: number
  readonly message: JSONRPCMessage
}

/** A priming event is stored as `{}`: it carries an id but no message, and must never be replayed as data. */
function isPriming(message: JSONRPCMessage): boolean {
  return !('jsonrpc' in message)
}

/**
 * Keeps every event of one session in memory. Event ids encode the stream (`<streamId>:<seq>`), as the
 * spec recommends, so a test can tell which stream an id belongs to.
 */
export class InMemoryEventStore implements EventStore {
  readonly #events = new Map<string, StoredEvent>()
  #seq = 0

  /** Every stored event in order, priming events included (for assertions). */
  get events(): ReadonlyArray<{ id: string; streamId: string; message: JSONRPCMessage }> {
    return [...this.#events].map(([id, e]) => ({ id, streamId: e.streamId, message: e.message }))
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    this.#seq += 1
    const id = `${streamId}:${this.#seq}`
    this.#events.set(id, { streamId, seq: this.#seq, message })
    return id
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#events.get(eventId)?.streamId
  }

  /** Replays the events of `lastEventId`'s stream that came after it; an unknown id replays nothing. */
  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const last = this.#events.get(lastEventId)
    if (!last) return ''
    for (const [id, event] of this.#events) {
      if (event.streamId === last.streamId && event.seq > last.seq && !isPriming(event.message)) {
        await send(id, event.message)
      }
    }
    return last.streamId
  }
}
