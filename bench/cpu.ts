// CPU-seconds of processes from /proc (Linux): user + system time, which stays comparable on a shared
// machine where latencies do not. A process tree counts each live process and what its reaped
// children used (cutime, cstime); a process that exits between two readings takes its ticks with it.
import fs from 'node:fs';
import { descendants } from '../chaos/procs';

const USER_HZ = 100;

/** A /proc `stat` file's name and its utime + stime (+ cutime + cstime) in clock ticks; null when it is gone or not readable. */
function readStat(file: string, withChildren: boolean): { name: string; ticks: number } | null {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "state" (index 0): utime 11, stime 12, cutime 13, cstime 14.
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0) };
  } catch {
    return null;
  }
}

/** utime + stime (+ cutime + cstime) of one process, in clock ticks; 0 when it is gone or not readable. */
function ticksOf(pid: number, withChildren: boolean): number {
  return readStat(`/proc/${pid}/stat`, withChildren)?.ticks ?? 0;
}

/** Whether /proc/<pid>/stat can be read here (the process is on this machine and visible). */
export function procVisible(pid: number): boolean {
  try {
    fs.accessSync(`/proc/${pid}/stat`, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** CPU-seconds a process and every live descendant have used. */
export function treeCpuSeconds(root: number | undefined): number {
  if (!root) return 0;
  let ticks = 0;
  for (const pid of [root, ...descendants(root)]) ticks += ticksOf(pid, true);
  return ticks / USER_HZ;
}

/** CPU-seconds of some processes, each alone (PostgreSQL backends: children of the postmaster, not of each other). */
export function pidsCpuSeconds(pids: number[]): Map<number, number> {
  return new Map(pids.map((p) => [p, ticksOf(p, false) / USER_HZ]));
}

/** CPU-seconds of this process, every thread (the event loop, the SDK's Rust core, libuv's pool). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU-seconds of each thread of this process, by thread id, with its name (/proc/self/task/<tid>: comm). */
export function threadCpuSeconds(): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    const t = readStat(`/proc/self/task/${tid}/stat`, false); // null: the thread ended
    if (t) out.set(Number(tid), { name: t.name, seconds: t.ticks / USER_HZ });
  }
  return out;
}

/** CPU-seconds each thread name used between two readings (threads of one name summed: V8's helpers, tokio's workers), the busiest first. */
export function cpuByThreadName(a: ReturnType<typeof threadCpuSeconds>, b: ReturnType<typeof threadCpuSeconds>): Array<[string, number]> {
  const byName = new Map<string, number>();
  for (const [tid, t] of b) byName.set(t.name, (byName.get(t.name) ?? 0) + t.seconds - (a.get(tid)?.seconds ?? 0));
  return [...byName].filter(([, s]) => s > 0).sort((x, y) => y[1] - x[1]);
}

/** The busiest threads between two readings: name (tid) and the share of one core each used. */
export function busiestThreads(a: ReturnType<typeof threadCpuSeconds>, b: ReturnType<typeof threadCpuSeconds>, seconds: number, top = 6): Array<{ thread: string; cores: number }> {
  return [...b]
    .map(([tid, t]) => ({ thread: `${t.name} (${tid})`, cores: Math.round(((t.seconds - (a.get(tid)?.seconds ?? 0)) / seconds) * 100) / 100 }))
    .sort((x, y) => y.cores - x.cores)
    .slice(0, top);
}

/**
 * The whole machine's CPU-seconds from /proc/stat: busy (user, nice, system, irq, softirq: every
 * process here, ours and others') and steal (time the hypervisor gave this machine's CPUs to someone
 * else). Null where /proc/stat is not readable. Between two readings it tells a window where the same
 * work took more of our CPU (busy rose with ours) from one where something else ran (busy above ours)
 * or the host held the CPUs back (steal).
 */
export function machineCpuSeconds(): { busy: number; steal: number } | null {
  try {
    return parseProcStatCpu(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** The first line of /proc/stat (`cpu  user nice system idle iowait irq softirq steal guest guest_nice`, clock ticks) as CPU-seconds; guest time is inside user. */
export function parseProcStatCpu(stat: string): { busy: number; steal: number } | null {
  const [name, ...rest] = stat.split('\n', 1)[0]!.trim().split(/\s+/);
  const f = rest.map(Number);
  if (name !== 'cpu' || f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
  return { busy: (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / USER_HZ, steal: f[7]! / USER_HZ };
}

/**
 * Waits until the processes `read` counts (CPU-seconds so far) use less than `belowCores` together,
 * `samples` one-second readings in a row, or `limitMs` has passed. Idle workers are not a quiet
 * machine: after a burst the Temporal server still works through its tail (transfer, timer and
 * visibility tasks) and the worker its retried activities, for seconds. Returns how long it waited and
 * the cores busy in the last reading (above `belowCores` when it gave up).
 */
export async function waitQuiet(read: () => number, opts: { limitMs?: number; belowCores?: number; samples?: number } = {}): Promise<{ ms: number; coresBusy: number }> {
  const { limitMs = 30_000, belowCores = 0.33, samples = 3 } = opts;
  const t0 = Date.now();
  let quiet = 0;
  let coresBusy = 0;
  while (quiet < samples && Date.now() - t0 < limitMs) {
    const a = read();
    const ta = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    coresBusy = Math.round(((read() - a) / ((performance.now() - ta) / 1000)) * 100) / 100;
    quiet = coresBusy < belowCores ? quiet + 1 : 0;
  }
  return { ms: Date.now() - t0, coresBusy };
}
