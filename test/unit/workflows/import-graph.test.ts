// The workflows folder's import graph (type-only imports included): no circle anywhere in it, and the
// machine (src/workflows/machine/**) stands on the domain alone: nothing from activities/, db/,
// Temporal, or the files above it (the public class, the projection, the message definitions).
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const WORKFLOWS = join(ROOT, 'src/workflows');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module a file names in an import or re-export (`import type` too), resolved to a path when relative. */
function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs = [...src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms), ...src.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => {
    if (!s.startsWith('.')) return s;
    const base = resolve(dirname(file), s);
    for (const c of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
    return base;
  });
}

const rel = (p: string) => (p.startsWith('/') ? relative(ROOT, p) : p);
const graph = new Map(files(WORKFLOWS).map((f) => [f, imports(f)]));

/** Every circle in the graph restricted to src/workflows (each reported once, from its first file). */
function circles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (!graph.has(g)) continue;
      if (state.get(g) === 'open') found.push([...stack.slice(stack.indexOf(g)), g].map(rel));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe('src/workflows import graph', () => {
  it('finds the files and their imports (the check can see what it checks)', () => {
    const machine = join(WORKFLOWS, 'machine/course-machine.ts');
    expect(graph.get(machine)).toEqual(expect.arrayContaining([join(WORKFLOWS, 'machine/progression.ts'), join(WORKFLOWS, 'machine/handlers/administration.ts')]));
    // A circle made on purpose is found.
    graph.set(join(WORKFLOWS, 'machine/progression.ts'), [...graph.get(join(WORKFLOWS, 'machine/progression.ts'))!, machine]);
    expect(circles().length).toBeGreaterThan(0);
    graph.set(join(WORKFLOWS, 'machine/progression.ts'), imports(join(WORKFLOWS, 'machine/progression.ts')));
  });

  it('has no circle, type-only imports included', () => {
    expect(circles()).toEqual([]);
  });

  it('the machine imports only the domain, its own files and the plain modules below it', () => {
    const allowed = ['src/domain/', 'src/workflows/machine/', 'src/workflows/contracts.ts', 'src/workflows/rejection.ts', 'src/workflows/workflow-ids.ts', 'src/workflows/assessment-machine.ts'];
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      if (!rel(f).startsWith('src/workflows/machine/')) continue;
      for (const d of deps) if (!allowed.some((a) => rel(d).startsWith(a))) bad.push(`${rel(f)} -> ${rel(d)}`);
    }
    expect(bad).toEqual([]);
  });

  it('inside the machine, handlers stand above the progression and the views below it', () => {
    const order = ['state.ts', 'events.ts', 'views.ts', 'progression.ts', 'handlers/', 'course-machine.ts'];
    const rank = (p: string) => order.findIndex((o) => rel(p).startsWith(`src/workflows/machine/${o}`));
    const upward: string[] = [];
    for (const [f, deps] of graph) {
      if (!rel(f).startsWith('src/workflows/machine/')) continue;
      for (const d of deps) if (rel(d).startsWith('src/workflows/machine/') && rank(d) >= rank(f)) upward.push(`${rel(f)} -> ${rel(d)}`);
    }
    expect(upward).toEqual([]);
  });
});
