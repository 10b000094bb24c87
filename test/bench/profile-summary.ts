import fs from 'node:fs';
import path from 'node:path';

// `npx tsx test/bench/profile-summary.ts test/bench/profiles/CPU…cpuprofile [top]`:
// self time by function and by file of a V8 CPU profile (node --cpu-prof),
// as `npm run bench -- --profile` writes them for the server process.

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? 35);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per sample from the deltas (µs).
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string) => {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 13).split('/').slice(0, 1).join('/');
  return path.relative(process.cwd(), u);
};
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const fnSelf = new Map<string, number>();
const fileSelf = new Map<string, number>();
const fileIncl = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + t);
  fileSelf.set(short(n.callFrame.url), (fileSelf.get(short(n.callFrame.url)) ?? 0) + t);
  // Inclusive per file: count each file once per sample stack.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = short(byId.get(cur)!.callFrame.url);
    if (!seen.has(f)) {
      seen.add(f);
      fileIncl.set(f, (fileIncl.get(f) ?? 0) + t);
    }
  }
}
const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
};
// Inclusive time per function (each function once per sample stack).
const fnIncl = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (!seen.has(l)) {
      seen.add(l);
      fnIncl.set(l, (fnIncl.get(l) ?? 0) + t);
    }
  }
}
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
show('inclusive time by function', fnIncl);
show('self time by function', fnSelf);
show('self time by file', fileSelf);
show('inclusive time by file', fileIncl);
