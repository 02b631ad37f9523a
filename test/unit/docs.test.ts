import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs, { type CommandModule } from 'yargs';
import { buildParser } from '../../src/cli.ts';
import { checkCommand } from '../../src/commands/check/command.ts';
import { cleanupCommand } from '../../src/commands/cleanup/command.ts';
import { completionCommand } from '../../src/commands/completion/command.ts';
import { snapshotCommand } from '../../src/commands/snapshot/command.ts';
import { upgradeCommand } from '../../src/commands/upgrade/command.ts';
import { validateCommand } from '../../src/commands/validate/command.ts';
import { versionCommand } from '../../src/commands/version/command.ts';
import { RBAC_DOC, rbacDoc } from '../../scripts/lib/rbac-doc.ts';
import { repoRoot } from '../support/paths.ts';

const test = suite('docs: the pages for people link to what exists, and their examples parse');

/** README.md and every page under docs/, as repository-relative paths. */
function pages(): string[] {
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(path.join(repoRoot, dir), { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.md') ? [path.join(dir, e.name)] : [],
      );
  return ['README.md', ...walk('docs')];
}

const read = (page: string) => fs.readFileSync(path.join(repoRoot, page), 'utf8');

/** The page's lines outside fenced code blocks, and the lines inside them. */
function split(text: string): { prose: string[]; code: string[] } {
  const out = { prose: [] as string[], code: [] as string[] };
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else (fenced ? out.code : out.prose).push(line);
  }
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of split(read(page)).prose) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = anchorOf(m[1] as string);
    const n = seen.get(base) ?? 0;
    out.add(n ? `${base}-${n}` : base);
    seen.set(base, n + 1);
  }
  return out;
}

test("the anchor of a heading is GitHub's", () => {
  assert.is(anchorOf('`upgrade --method dump`: a logical migration'), 'upgrade---method-dump-a-logical-migration');
  assert.is(anchorOf('Exit codes'), 'exit-codes');
});

test('every relative link of README.md and docs/ names a file that exists, and a heading in it', () => {
  const broken: string[] = [];
  let links = 0;
  for (const page of pages()) {
    const prose = split(read(page))
      .prose.join('\n')
      .replace(/`[^`\n]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/i.test(target)) continue;
      links++;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file ? path.normalize(path.join(path.dirname(page), file)) : page;
      if (!fs.existsSync(path.join(repoRoot, resolved))) broken.push(`${page}: ${target} (no file ${resolved})`);
      else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor))
        broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  assert.ok(links > 20, `only ${links} relative links found: is the search right?`);
  assert.equal(broken, []);
});

const COMMANDS: CommandModule<any, any>[] = [
  checkCommand,
  snapshotCommand,
  upgradeCommand,
  validateCommand,
  cleanupCommand,
  versionCommand,
  completionCommand,
];

/** The flags a subcommand accepts, as its yargs builder and the root parser define them (no parse, no I/O). */
function flagsOf(cmd: CommandModule<any, any>): Set<string> {
  const positionals = [...String(cmd.command).matchAll(/[[<]([a-z-]+)[\]>]/g)].map((m) => m[1]);
  const options = (o: { key: Record<string, unknown>; alias: Record<string, string[]>; boolean: string[] }) => [
    ...Object.keys(o.key),
    ...Object.values(o.alias).flat(),
    ...o.boolean.map((b) => `no-${b}`),
  ];
  const builder = cmd.builder as unknown as (y: unknown) => { getOptions(): never };
  const own = options(builder(yargs([])).getOptions()).filter(
    (k) => !positionals.includes(k) && k !== 'version' && k !== 'no-version',
  );
  const root = options((buildParser([]) as unknown as { getOptions(): never }).getOptions());
  return new Set([...own, ...root]);
}

const FLAGS = new Map(COMMANDS.map((c) => [String(c.command).split(' ')[0] as string, flagsOf(c)]));

test('the flags are read from the parser: upgrade takes --method and --no-snapshot, check does not take --rollback', () => {
  assert.ok(FLAGS.get('upgrade')?.has('method'));
  assert.ok(FLAGS.get('upgrade')?.has('no-snapshot'));
  assert.ok(FLAGS.get('upgrade')?.has('n'));
  assert.not.ok(FLAGS.get('check')?.has('rollback'));
});

/**
 * Every `kubectl pgupgrade <cmd> …` line of the pages' code blocks (a `$ ` prompt and `\` continuations allowed),
 * and every inline code span of their prose that starts so.
 */
function examples(): { page: string; line: string }[] {
  const out: { page: string; line: string }[] = [];
  for (const page of pages()) {
    const { prose, code } = split(read(page));
    for (const m of prose.join('\n').matchAll(/`((?:kubectl pgupgrade|kubectl-pgupgrade) [a-z][^`]*)`/g)) {
      out.push({ page, line: (m[1] as string).replace(/\\\|/g, '|') });
    }
    const joined = code
      .join('\n')
      .replace(/\\\n\s*/g, ' ')
      .replace(/\n(?=\s{2,}\[?--)/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.trim().replace(/^\$\s+/, '');
      if (/^(kubectl pgupgrade|kubectl-pgupgrade|dist\/kubectl-pgupgrade) [a-z]/.test(line)) out.push({ page, line });
    }
  }
  return out;
}

test('every command example in README.md and docs/ uses only flags its subcommand accepts', () => {
  const list = examples();
  assert.ok(list.length > 30, `only ${list.length} examples found`);
  const wrong: string[] = [];
  for (const { page, line } of list) {
    const words = line.replace(/^kubectl pgupgrade /, 'kubectl-pgupgrade ').split(/\s+/);
    const cmd = words[1] as string;
    const flags = FLAGS.get(cmd);
    if (!flags) {
      wrong.push(`${page}: ${line}: no subcommand ${cmd}`);
      continue;
    }
    const code = line.split(/\s#\s/)[0] as string;
    for (const m of code.matchAll(/(?<![\w<-])--?([a-z][a-z0-9-]*)/g)) {
      if (!flags.has(m[1] as string)) wrong.push(`${page}: ${line}: ${cmd} takes no ${m[0]}`);
    }
  }
  assert.equal(wrong, []);
});

test(`the committed ${RBAC_DOC} is the one src/rbac.ts makes (on failure: node scripts/docs.ts)`, () => {
  assert.fixture(read(RBAC_DOC), rbacDoc());
});

test('no issue numbers, acceptance items or seed names in the pages for people', () => {
  const found: string[] = [];
  for (const page of pages()) {
    read(page)
      .split('\n')
      .forEach((line, i) => {
        const m = /\bissue \d+|\bacceptance \d|\bseeds?'|\bseed[- ]?\d|[a-z-]+-(job|upgrade)\.md\b/i.exec(line);
        if (m) found.push(`${page}:${i + 1}: ${m[0]}`);
      });
  }
  assert.equal(found, []);
});

test.run();
