import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../support/paths.ts';

// The house's shape, read from the imports themselves: one folder per subcommand, a request only goes down.
const SRC = path.join(repoRoot, 'src');
const rel = (f: string) => path.relative(SRC, f);

function sources(): string[] {
  return fs
    .readdirSync(SRC, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every relative import of a file (static, re-export and dynamic), as paths relative to src/. */
function importsOf(file: string): Array<{ target: string; typeOnly: boolean }> {
  const text = fs.readFileSync(file, 'utf8');
  const out: Array<{ target: string; typeOnly: boolean }> = [];
  for (const m of text.matchAll(
    /(?:^|\n)\s*(import|export)(\s+type)?[^'";]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g,
  )) {
    const spec = m[3] ?? m[4] ?? '';
    out.push({ target: rel(path.resolve(path.dirname(file), spec)), typeOnly: Boolean(m[2]) });
  }
  return out;
}

const commandOf = (r: string) => (r.startsWith('commands/') ? r.split('/')[1] : undefined);
/** A shared layer is a folder of src/ outside src/commands; a file directly in src/ is its own node. */
const layerOf = (r: string): string => (r.includes('/') ? (r.split('/')[0] ?? r) : r);

const FILES = sources();
const EDGES = FILES.flatMap((f) => importsOf(f).map((i) => ({ from: rel(f), ...i })));

test('the import reader sees the imports (guards the tests below against a regex that matches nothing)', () => {
  assert.ok(EDGES.length > 200, `only ${EDGES.length} imports found`);
  assert.ok(EDGES.some((e) => e.from === 'cli.ts' && e.target === 'commands/upgrade/command.ts'));
  assert.ok(
    EDGES.some((e) => e.from === 'commands/upgrade/command.ts' && e.target === 'commands/upgrade/run.ts'),
    'the lazy import of run.ts',
  );
});

test('every subcommand is one folder under src/commands with its yargs module and its entry; src/tasks is gone', () => {
  assert.not.ok(fs.existsSync(path.join(SRC, 'tasks')), 'src/tasks');
  const dirs = fs
    .readdirSync(path.join(SRC, 'commands'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.equal(dirs, ['check', 'cleanup', 'completion', 'snapshot', 'upgrade', 'validate', 'version']);
  for (const d of dirs) {
    assert.ok(fs.existsSync(path.join(SRC, 'commands', d, 'command.ts')), `${d}/command.ts`);
    assert.ok(fs.existsSync(path.join(SRC, 'commands', d, 'run.ts')) || d === 'completion', `${d}/run.ts`);
  }
  const loose = fs
    .readdirSync(path.join(SRC, 'commands'), { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
  assert.equal(loose, [], 'nothing shared lives in src/commands itself');
});

test("no file imports another subcommand's folder", () => {
  const bad = EDGES.filter(
    (e) => commandOf(e.target) && commandOf(e.from) !== commandOf(e.target) && e.from !== 'cli.ts',
  );
  assert.equal(
    bad.map((e) => `${e.from} -> ${e.target}`),
    [],
  );
});

test('a request only goes down: the shared layers import no command and form no cycle', () => {
  const layers = new Map<string, Set<string>>();
  for (const e of EDGES) {
    if (commandOf(e.from) || e.from === 'cli.ts' || e.from === 'main.ts') continue;
    const a = layerOf(e.from);
    const b = layerOf(e.target);
    if (a !== b) (layers.get(a) ?? layers.set(a, new Set()).get(a))?.add(b);
  }
  const cycles: string[] = [];
  const visit = (n: string, trail: string[]) => {
    if (trail.includes(n)) return void cycles.push([...trail.slice(trail.indexOf(n)), n].join(' -> '));
    for (const m of layers.get(n) ?? []) visit(m, [...trail, n]);
  };
  for (const n of layers.keys()) visit(n, []);
  assert.equal([...new Set(cycles)], []);
  assert.ok(layers.size >= 10, `${layers.size} layers`);
});

test('src/postgres stays pure: no Node I/O module, and nothing from another layer but types and pure quantities', () => {
  for (const f of FILES.filter((x) => rel(x).startsWith('postgres/'))) {
    const text = fs.readFileSync(f, 'utf8');
    assert.not.match(text, /from 'node:(fs|child_process|net|http|https|os)'/, rel(f));
    for (const i of importsOf(f).filter((x) => !x.target.startsWith('postgres/'))) {
      assert.ok(i.typeOnly || i.target === 'k8s/quantity.ts', `${rel(f)} imports ${i.target}`);
    }
  }
});

test('one engine: in place, by dump and the rehearsal are tables of phases run by src/engine', () => {
  for (const f of ['commands/upgrade/apply.ts', 'commands/upgrade/dump/apply.ts', 'commands/upgrade/rehearse.ts']) {
    assert.ok(
      EDGES.some((e) => e.from === f && e.target === 'engine/phases.ts'),
      `${f} imports the engine`,
    );
    assert.match(fs.readFileSync(path.join(SRC, f), 'utf8'), 'phaseTasks(', `${f} runs its table on the engine`);
  }
  const engine = EDGES.filter((e) => e.from.startsWith('engine/') && !e.target.startsWith('engine/'));
  assert.equal(engine, [], 'the engine knows no method, no record and no cluster');
});

// The size habits of the house, on the formatted code (biome at 120 columns, format.test.ts). A function's length is
// biome's noExcessiveLinesPerFunction, an error at 60 lines (biome.json). No file is over 200 lines, and no file of
// src/ is excused from the function limit (LONG_FUNCTIONS, which biome.json's overrides must agree with, is empty).
const LONG_FUNCTIONS: string[] = [];

test('no file under src/ is over 200 lines as formatted', () => {
  const lines = (f: string) => fs.readFileSync(f, 'utf8').trimEnd().split('\n').length;
  const long = FILES.filter((f) => lines(f) > 200)
    .map(rel)
    .sort();
  assert.equal(long, []);
  assert.ok(FILES.length > 150, `only ${FILES.length} source files read`);
});

test('the functions still over 60 lines are only in the files biome.json excuses, and the lists agree', () => {
  const biome = JSON.parse(fs.readFileSync(path.join(repoRoot, 'biome.json'), 'utf8')) as {
    overrides: Array<{ includes: string[]; linter?: { rules?: { complexity?: Record<string, unknown> } } }>;
  };
  const excused = biome.overrides
    .filter((o) => o.linter?.rules?.complexity?.noExcessiveLinesPerFunction === 'off')
    .flatMap((o) => o.includes)
    .filter((i) => i.startsWith('src/'))
    .map((i) => i.slice(4))
    .sort();
  assert.equal(excused, LONG_FUNCTIONS);
});

test.run();
