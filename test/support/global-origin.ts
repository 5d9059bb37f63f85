/**
 * Vitest `globalSetup` for the `workers` project: starts real SDK origins in Node for the whole run
 * and hands their URLs to tests running inside workerd, which read them with
 * `inject('originUrl')` (from 'vitest'). workerd reaches them over loopback, so tenant configs in
 * those tests can point at a real MCP server (with `ALLOW_PRIVATE_ORIGINS=true`).
 */
import type { TestProject } from 'vitest/node'
import { startModernOrigin } from './modern-origin.js'
import { startOrigin } from './origin.js'

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

/** Starts the origins and returns their teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [sse, json, modern] = await Promise.all([
    startOrigin({ mode: 'sse', stateful: true }),
    startOrigin({ mode: 'json', stateful: true }),
    startModernOrigin(),
  ])
  project.provide('originUrl', sse.url)
  project.provide('jsonOriginUrl', json.url)
  project.provide('modernOriginUrl', modern.url)
  return async () => {
    await Promise.all([sse.close(), json.close(), modern.close()])
  }
}
