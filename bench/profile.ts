/**
 * A V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` file) as text: the top
 * frames by self time and by total time, and the share of time per package
 * (a node_modules package, a folder of dist/, Node's internals), so two
 * profiles taken on a busy machine compare by shape (share of the busy time)
 * rather than by absolute milliseconds.
 *
 *   node profile.js FILE.cpuprofile [--top 25] [--out summary.txt]
 *
 * Self time: samples whose leaf is the frame. Total time: samples with the
 * frame anywhere on their stack, counted once per sample (recursion does not
 * count twice). Frames are merged by function, file and line across the
 * call tree. Shares are of the busy time: every sample but `(idle)`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface FrameTime {
  frame: string;
  pkg: string;
  selfUs: number;
  totalUs: number;
}

/** Frames V8 puts at the root of a stack for time spent outside JavaScript. */
const IDLE = '(idle)';

export function summarize(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const frames = new Map<string, FrameTime>();
  const keyOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const key = frameName(node.callFrame);
    keyOf.set(node.id, key);
    if (!frames.has(key)) {
      frames.set(key, { frame: key, pkg: packageOf(node.callFrame), selfUs: 0, totalUs: 0 });
    }
  }
  const packages = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  // A sample's time is the delta to the next sample (the last one has none).
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const leaf = profile.samples[i];
    const leafKey = keyOf.get(leaf) as string;
    if (leafKey.startsWith(IDLE)) {
      idleUs += delta;
      continue;
    }
    busyUs += delta;
    const leafFrame = frames.get(leafKey) as FrameTime;
    leafFrame.selfUs += delta;
    packages.set(leafFrame.pkg, (packages.get(leafFrame.pkg) ?? 0) + delta);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const key = keyOf.get(id) as string;
      if (seen.has(key) || byId.get(id)?.callFrame.functionName === '(root)') continue;
      seen.add(key);
      (frames.get(key) as FrameTime).totalUs += delta;
    }
  }
  const all = [...frames.values()];
  const share = (us: number): string => `${((100 * us) / Math.max(busyUs, 1)).toFixed(1)}%`;
  const ms = (us: number): string => (us / 1000).toFixed(0);
  const table = (rows: FrameTime[], pick: (f: FrameTime) => number): string[] =>
    rows.map(
      (f) =>
        `${share(pick(f)).padStart(6)} ${ms(pick(f)).padStart(7)} ms  ${f.frame}` +
        (f.pkg === '(native)' ? '' : `  [${f.pkg}]`),
    );
  const lines = [
    `busy ${ms(busyUs)} ms, idle ${ms(idleUs)} ms (${((100 * busyUs) / Math.max(busyUs + idleUs, 1)).toFixed(0)}% busy); shares below are of the busy time`,
    '',
    `top ${top} by self time`,
    ...table(all.sort((a, b) => b.selfUs - a.selfUs).slice(0, top), (f) => f.selfUs),
    '',
    `top ${top} by total time`,
    ...table(all.sort((a, b) => b.totalUs - a.totalUs).slice(0, top), (f) => f.totalUs),
    '',
    'self time by package',
    ...[...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, us]) => `${share(us).padStart(6)} ${ms(us).padStart(7)} ms  ${pkg}`),
  ];
  return `${lines.join('\n')}\n`;
}

function frameName({ functionName, url, lineNumber }: CallFrame): string {
  const name = functionName || '(anonymous)';
  if (!url) return name;
  return `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  const dist = path.lastIndexOf('/dist/');
  if (dist >= 0) return path.slice(dist + 1);
  return path;
}

/** `fastify`, `@nestjs/core`, `dist/inference`, `node:internal`, or `(native)` for V8's own frames. */
function packageOf({ url }: CallFrame): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = path.lastIndexOf('/dist/');
  if (dist >= 0) {
    const parts = path.slice(dist + 1).split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith('node:')) return path.split('/')[0];
  return path;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1) {
    throw new Error('usage: node profile.js FILE.cpuprofile [--top 25] [--out summary.txt]');
  }
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile;
  const text = summarize(profile, Number(values.top));
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
}

if (require.main === module) main();
