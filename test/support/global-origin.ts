/**
 * Vitest `globalSetup` for the `workers` project: starts real SDK origins in Node for the whole run
 * and hands their URLs to tests running inside workerd, which read them with
 * `inject('originUrl')` (from 'vitest'). workerd reaches them over loopback, so tenant configs in
 * those tests can point at a real MCP server (with `ALLOW_PRIVATE_ORIGINS=true`).
 */
/// <reference path="./provided-context.d.ts" />
import type { TestProject } from 'vitest/node'
import { startModernOrigin } from './modern-origin.js'
import { startOrigin } from './origin.js'

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
