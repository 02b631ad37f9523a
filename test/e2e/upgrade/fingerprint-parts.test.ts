import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { releaseNamespaces } from '../../support/kube/helpers.ts';
import { assertNoSecret, deployCase, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 29, 2: a fingerprint larger than a ConfigMap holds (tens of thousands of tables) is kept in parts. The
// limit is lowered here (PGUPGRADE_FINGERPRINT_CONFIGMAP_CHARS) so that a small database's fingerprints take
// several ConfigMaps through the real apiserver: the upgrade writes them, its verify, validate and a re-run read
// them whole, and cleanup removes every part with its fingerprint.
const test = suite('fingerprints in parts: written, read back whole and removed whole through the apiserver');
const PASSWORD = 'Parts-E2E-S3cret';
const outputs: RunResult[] = [];
const PART_CHARS = '512';
const c: Deployed = {
  name: 'official 13 → 15, link, fingerprints in parts',
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('fp-parts'),
  pod: '',
};

async function cli(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const env = { KUBECONFIG: cp.kubeconfig, PGUPGRADE_FINGERPRINT_CONFIGMAP_CHARS: PART_CHARS };
  const r = await runAsync(requireBinary(), args, env, 300_000);
  outputs.push(r);
  return r;
}

type Cm = {
  metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: Array<{ kind: string }> };
};
async function ourConfigMaps(cp: ControlPlane): Promise<Cm[]> {
  const r = await cp.kubectl([
    '-n',
    c.ns,
    'get',
    'configmaps',
    '-l',
    'app.kubernetes.io/managed-by=kubectl-pgupgrade',
    '-o',
    'json',
  ]);
  return (JSON.parse(r.stdout) as { items: Cm[] }).items;
}
const partsOf = (cms: Cm[], of: string) =>
  cms.filter((x) => x.metadata.annotations?.['pgupgrade.kubectl.io/fingerprint-part-of'] === of);

test('set up: the official 13, seeded, its application writing', async () => {
  await deployCase((await sharedEnv()).cp, c, PASSWORD);
});

test('the upgrade keeps its reference fingerprint in parts, and verifies against it', async () => {
  const { cp } = await sharedEnv();
  const r = await cli(cp, ['upgrade', '-n', c.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json']);
  const rep = await verifyUpgraded(cp, c, r, outputs, '0', { keepNamespace: true });
  const cms = await ourConfigMaps(cp);
  const reference = cms.find((x) => x.metadata.name === 'pgupgrade-fingerprint-postgres');
  const parts = Number(reference?.metadata.annotations?.['pgupgrade.kubectl.io/fingerprint-parts']);
  assert.ok(parts >= 2, JSON.stringify(reference?.metadata));
  assert.is(partsOf(cms, 'pgupgrade-fingerprint-postgres').length, parts - 1);
  // The parts carry the reference's labels (cleanup finds them by them) and name it.
  assert.ok(rep.snapshot, 'a snapshot was cut');
});

test('validate reads them whole and finds the data equal; cleanup removes each part with its fingerprint', async () => {
  const { cp } = await sharedEnv();
  const v = await cli(cp, ['validate', '-n', c.ns, '-o', 'json']);
  assert.is(v.code, 0, v.stdout + v.stderr);
  const checks = (JSON.parse(v.stdout) as { checks: Array<{ id: string; found: string }> }).checks;
  assert.match(checks.find((x) => x.id === 'data')?.found ?? '', /^equal/);
  const r = await cli(cp, ['cleanup', '-n', c.ns, '--older-than', '0s', '-y']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, 'pgupgrade-fingerprint-postgres-part-2');
  assert.equal(
    (await ourConfigMaps(cp)).map((x) => x.metadata.name),
    [],
    'no fingerprint, no part, no record left',
  );
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
