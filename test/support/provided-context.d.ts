// URLs that `global-origin.ts` (the workers project's globalSetup) provides to tests running in
// workerd: `inject('originUrl')` from 'vitest'. Node-free, so the workers tsconfig can include it.
import 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Legacy-era SDK origin, stateful, SSE responses, with an event store. */
    originUrl: string
    /** Legacy-era SDK origin, stateful, JSON responses. */
    jsonOriginUrl: string
    /** 2026-07-28 SDK origin (stateless). */
    modernOriginUrl: string
  }
}
