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

/** The root and all its descendants, from the parent pids in /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which may itself hold spaces and parens.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = children.get(ppid) ?? [];
    siblings.push(Number(entry));
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
    return {
      idleMiB: mib(this.idleKiB),
      peakMiB: mib(this.peakKiB),
      hwmSumMiB: mib(hwm),
      processes: tree.length,
    };
  }

  private sample(): void {
    this.peakKiB = Math.max(this.peakKiB, treeRssKiB(this.root));
  }
}
