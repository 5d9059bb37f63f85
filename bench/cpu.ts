/**
 * CPU time spent by the workerd processes this process started (every Worker of the bench, with
 * wrangler's dev proxy in front of each). Read from /proc, so Linux only; elsewhere it is undefined.
 * Per-request CPU is far less sensitive to other load on a shared machine than throughput is, and
 * during a run only the target under load is busy, so the difference between the two targets is
 * the firewall's own cost.
 */
import { readFileSync, readdirSync } from 'node:fs'

/** Linux's USER_HZ: /proc reports CPU times in 1/100 s on every mainstream architecture. */
const TICKS_PER_SECOND = 100

/** `[ppid, comm, utime + stime]` of a pid from /proc/<pid>/stat, or undefined if it vanished. */
function stat(pid: string): [number, string, number] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm is parenthesised and may hold spaces; the fields after it are space separated.
    const close = text.lastIndexOf(')')
    const comm = text.slice(text.indexOf('(') + 1, close)
    const rest = text.slice(close + 2).split(' ')
    return [Number(rest[1]), comm, Number(rest[11]) + Number(rest[12])]
  } catch {
    return undefined
  }
}

/** Ticks used so far by each workerd child of this process, or undefined off Linux. */
function sample(): Map<number, number> | undefined {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return undefined
  }
  const ticks = new Map<number, number>()
  for (const pid of pids) {
    const s = stat(pid)
    if (s && s[0] === process.pid && s[1] === 'workerd') ticks.set(Number(pid), s[2])
  }
  return ticks
}

/** A monotonic clock of workerd CPU, plus how often the set of workerd processes changed. */
export interface CpuClock {
  /** Milliseconds of workerd CPU since the clock was made, or undefined off Linux. */
  (): number | undefined
  /** Times a workerd process appeared or vanished between readings (wrangler restarted a Worker). */
  readonly changes: number
}

/**
 * Makes a workerd CPU clock. Each reading adds every process's growth since the previous reading
 * (a new process counts from zero), so a restarted Worker never makes the clock run backwards.
 */
export function workerdCpuClock(): CpuClock {
  let previous = sample()
  let total = 0
  let changes = 0
  const read = (): number | undefined => {
    const now = sample()
    if (!now || !previous) return undefined
    for (const [pid, ticks] of now) total += ticks - (previous.get(pid) ?? 0)
    for (const pid of previous.keys()) if (!now.has(pid)) changes++
    for (const pid of now.keys()) if (!previous.has(pid)) changes++
    previous = now
    return (total * 1000) / TICKS_PER_SECOND
  }
  return Object.defineProperty(read, 'changes', { get: () => changes }) as CpuClock
}
