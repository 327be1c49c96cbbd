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

/** The busiest threads between two readings: name (tid) and the share of one core each used. */
export function busiestThreads(a: ReturnType<typeof threadCpuSeconds>, b: ReturnType<typeof threadCpuSeconds>, seconds: number, top = 6): Array<{ thread: string; cores: number }> {
  return [...b]
    .map(([tid, t]) => ({ thread: `${t.name} (${tid})`, cores: Math.round(((t.seconds - (a.get(tid)?.seconds ?? 0)) / seconds) * 100) / 100 }))
    .sort((x, y) => y.cores - x.cores)
    .slice(0, top);
}
