import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { materializeVolumes, mountSource } from '../../support/agent/volumes.ts';

const noSources = {
  secret: async () => undefined,
  configMap: async () => undefined,
  pvcPath: async () => '',
  token: async () => '',
  podField: () => '',
};
const mode = (p: string) => fs.statSync(p).mode & 0o7777;

test("an emptyDir subPath gets the pod's fsGroup, group-writable, as the volume root does (Bitnami chart 16: tmp, conf, logs)", async () => {
  const pod = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-vol-'));
  const vols = await materializeVolumes([{ name: 'empty-dir', emptyDir: {} }], pod, noSources, 1001);
  const vol = vols.get('empty-dir')!;
  assert.equal([fs.statSync(vol.hostPath).gid, mode(vol.hostPath)], [1001, 0o2777], 'the root: fsGroup, setgid');
  for (const sub of ['app-tmp-dir', 'app-conf-dir', 'app-logs-dir', 'deep/er']) {
    const dir = mountSource(vol, sub);
    assert.equal(
      [fs.statSync(dir).uid, fs.statSync(dir).gid, mode(dir)],
      [0, 1001, 0o2777],
      `${sub}: made with the root's mode and group`,
    );
  }
});

test('on a claim: a new subPath gets fsGroup from the root; an existing one (PGDATA) keeps its 0700; no escape', async () => {
  const claim = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-pvc-'));
  fs.mkdirSync(path.join(claim, 'pgdata'), { mode: 0o700 });
  const vol = (
    await materializeVolumes(
      [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }],
      claim,
      { ...noSources, pvcPath: async () => claim },
      1001,
    )
  ).get('data')!;
  assert.equal([fs.statSync(claim).gid, mode(claim)], [1001, 0o2700 | 0o070]);
  const fresh = mountSource(vol, 'conf');
  assert.equal([fs.statSync(fresh).gid, mode(fresh)], [1001, 0o2770]);
  const pgdata = mountSource(vol, 'pgdata');
  assert.equal([fs.statSync(pgdata).gid, mode(pgdata)], [0, 0o700], 'postgres refuses a group-writable PGDATA');
  assert.throws(() => mountSource(vol, '../x'), /subPath \.\.\/x escapes its volume/);
});

test.run();
