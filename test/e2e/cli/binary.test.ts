import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binaryAloneInDir, run } from '../../support/cli/binary.ts';

const dir = binaryAloneInDir();
const bin = path.join(dir, 'kubectl-pgupgrade');
const kubeconfig = path.join(dir, 'config');
fs.writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
current-context: dev
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts:
- {name: dev, context: {cluster: c, user: u, namespace: team}}
- {name: prod, context: {cluster: c, user: u}}
`,
);

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--help lists the commands that work, and only those', () => {
  const r = run(bin, ['--help']);
  assert.is(r.code, 0, r.stderr);
  for (const cmd of ['version', 'completion']) assert.match(r.stdout, `kubectl-pgupgrade ${cmd}`);
  for (const flag of ['--kubeconfig', '--context', '--namespace', '--debug', '--color', '--yes'])
    assert.match(r.stdout, flag);
  assert.is(r.stderr, '');
});

test('the pre-rendered help is exactly what the parser prints', () => {
  for (const args of [['--help'], ['-h'], ['version', '--help'], ['completion', '-h']]) {
    const cached = run(bin, args);
    const parsed = run(bin, args, { PGUPGRADE_HELP_CACHE: 'off' });
    assert.is(cached.code, 0);
    assert.is(parsed.code, 0);
    assert.fixture(cached.stdout, parsed.stdout);
  }
});

test('version: plugin, commit and the embedded Node 26', () => {
  const r = run(bin, ['version', '-o', 'json'], { KUBECONFIG: kubeconfig });
  assert.is(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.match(v.version, /^\d+\.\d+\.\d+/);
  assert.match(v.commit, /^[0-9a-f]{12}(-dirty)?$|^unknown$/);
  assert.match(v.node, /^v26\./);
  assert.is(v.server.context, 'dev');
  assert.match(v.server.error, /^unreachable: /);
  assert.not.match(r.stdout + r.stderr, 'not-a-real-token');
});

test('an unknown context exits 2, names it and lists the known ones', () => {
  const r = run(bin, ['-n', 'x', '--context', 'nope', 'version'], { KUBECONFIG: kubeconfig });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'context "nope"');
  assert.match(r.stderr, 'known contexts: dev, prod');
});

test('KUBECONFIG naming a missing file exits 2 and says so', () => {
  const missing = path.join(os.tmpdir(), 'no-such-kubeconfig');
  const r = run(bin, ['version'], { KUBECONFIG: missing });
  assert.is(r.code, 2);
  assert.match(r.stderr, `KUBECONFIG names file ${missing} does not exist`);
});

test('no kubeconfig at all is an error, not a fall-back to localhost:8080', () => {
  const r = run(bin, ['version'], { HOME: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'no kubeconfig found');
});

test('usage errors exit 2: unknown command, unknown flag, no command', () => {
  for (const args of [['frobnicate'], ['version', '--bogus'], []]) {
    const r = run(bin, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, 'Nothing was changed');
  }
});

test('stack traces only with --debug', () => {
  const plain = run(bin, ['--context', 'nope', 'version'], { KUBECONFIG: kubeconfig });
  assert.not.match(plain.stderr, '    at ');
  const debug = run(bin, ['--debug', '--context', 'nope', 'version'], { KUBECONFIG: kubeconfig });
  assert.is(debug.code, 2);
  assert.match(debug.stderr, '    at ');
});

test('completion prints bash and zsh scripts, and the binary answers completion queries', () => {
  assert.match(run(bin, ['completion', 'bash']).stdout, 'complete -o bashdefault');
  assert.match(run(bin, ['completion', 'zsh']).stdout, '#compdef kubectl-pgupgrade');
  const words = run(bin, ['--get-yargs-completions', 'kubectl-pgupgrade', '']).stdout.split('\n');
  assert.ok(words.includes('version') && words.includes('completion'), words.join(','));
  const flags = run(bin, ['--get-yargs-completions', 'kubectl-pgupgrade', 'version', '--']).stdout;
  assert.match(flags, '--output');
  assert.match(flags, '--kubeconfig');
  assert.is(run(bin, ['completion', 'fish']).code, 2);
});

test('-o yaml prints YAML only on stdout', () => {
  const r = run(bin, ['version', '-o', 'yaml'], { KUBECONFIG: kubeconfig });
  assert.is(r.code, 0);
  assert.match(r.stdout, /^version: /m);
  assert.match(r.stdout, /^node: v26\./m);
});

test.run();
