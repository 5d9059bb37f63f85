/** The Worker's exports: the firewall app and its Durable Object classes. */
import { createApp } from './app'
import { useClassifierKernel } from './detectors/classifier/kernel'
import classifierKernel from './detectors/classifier/kernel.wasm'

useClassifierKernel(classifierKernel)

export { SecurityEventLog } from './audit/event-log'
export { TenantConfigAuthority } from './tenant/authority'
export { HostRegistry } from './tenant/registry'
export default createApp()
export { TenantGuard } from './guard/tenant-guard'
export { AlertOutbox } from './alerts/outbox'
export { ToolPins } from './tools/pin-store'
export { TenantBudget } from './budget/tenant-budget'
