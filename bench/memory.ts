/**
 * Resident memory of a target's whole process tree (a server and its worker
 * children), from /proc: the sum of VmRSS over the root and its descendants.
 */
import { readdirSync, readFileSync } from 'node:fs';

const SAMPLE_INTERVAL_MS = 250;

export interface MemoryStats {
  /** Sum of VmRSS over the process tree just before the warm-up. */
  idleMiB: number;
  /** Highest sum of VmRSS over the tree seen while loading (sampled every 250 ms). */
  peakMiB: number;
  /** Sum of each live process's VmHWM at the end: an upper bound of the true peak. */
  hwmSumMiB: number;
  processes: number;
  /** Each process of the tree at the end: its own sampled peak and VmHWM (workers of a cluster). */
  perProcess?: ProcessMemory[];
}

export interface ProcessMemory {
  pid: number;
  /** The parent's pid: a cluster's workers are the children of its primary. */
  ppid: number;
  command: string;
  peakMiB: number;
  hwmMiB: number;
}

function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // exited between listing and reading
  }
}

function readParents(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      continue;
    }
  }
  return parents;
}

/** The first words of a process's command line ("node dist/main.js"), '' once it exited. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .slice(0, 3)
      .join(' ');
  } catch {
    return '';
  }
}

/** The root and all its descendants, from the parent pids in /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of readParents()) {
    const siblings = children.get(ppid) ?? [];
    siblings.push(pid);
    children.set(ppid, siblings);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export function treeRssKiB(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + readStatusKiB(pid, 'VmRSS'), 0);
}

function mib(kib: number): number {
  return Math.round((kib / 1024) * 10) / 10;
}

/** Samples the tree's RSS every 250 ms from start() to stop(). */
export class MemorySampler {
  private peakKiB = 0;
  private readonly processPeakKiB = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private idleKiB = 0;

  constructor(private readonly root: number) {}

  start(): void {
    this.idleKiB = treeRssKiB(this.root);
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  stop(): MemoryStats {
    clearInterval(this.timer);
    this.sample();
    const tree = processTree(this.root);
    const hwm = tree.reduce((sum, pid) => sum + readStatusKiB(pid, 'VmHWM'), 0);
    const parents = readParents();
    return {
      idleMiB: mib(this.idleKiB),
      peakMiB: mib(this.peakKiB),
      hwmSumMiB: mib(hwm),
      processes: tree.length,
      perProcess: tree.map((pid) => ({
        pid,
        ppid: parents.get(pid) ?? 0,
        command: commandOf(pid),
        peakMiB: mib(this.processPeakKiB.get(pid) ?? 0),
        hwmMiB: mib(readStatusKiB(pid, 'VmHWM')),
      })),
    };
  }

  private sample(): void {
    let sum = 0;
    for (const pid of processTree(this.root)) {
      const kib = readStatusKiB(pid, 'VmRSS');
      sum += kib;
      this.processPeakKiB.set(pid, Math.max(this.processPeakKiB.get(pid) ?? 0, kib));
    }
    this.peakKiB = Math.max(this.peakKiB, sum);
  }
}
