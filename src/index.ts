/** The Worker's exports: the firewall app and its Durable Object classes. */
import { createApp } from './app'

export { SecurityEventLog } from './audit/event-log'
export default createApp()
