import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { majorOf, NEWEST_MAJOR, pgUpgradeModeFlags, upgradePathProblem } from '../../../src/postgres/versions.ts';
import { isKnownRepo, parseImageRef, targetImageFor, upgradeImageFor } from '../../../src/postgres/images.ts';

test('upgrade paths: only upward, only supported majors, swap only into 18+', () => {
  assert.is(upgradePathProblem(13, 15, 'link'), undefined);
  assert.is(upgradePathProblem(13, 18, 'swap'), undefined);
  assert.match(upgradePathProblem(15, 15, 'link') ?? '', 'must be greater than the running major 15');
  assert.match(upgradePathProblem(15, 13, 'link') ?? '', 'must be greater');
  assert.match(upgradePathProblem(12, 15, 'link') ?? '', 'PostgreSQL 12 is not a major');
  assert.match(upgradePathProblem(13, 16, 'link') ?? '', '--to 16 is not a supported target');
  assert.match(upgradePathProblem(15, 17, 'swap') ?? '', 'swap needs a target of 18');
  assert.is(NEWEST_MAJOR, 18);
});

test('pg_upgrade mode flags; majors from server_version_num and PG_VERSION', () => {
  assert.equal(pgUpgradeModeFlags('copy', 15), []);
  assert.equal(pgUpgradeModeFlags('copy', 17), ['--copy']);
  assert.equal(pgUpgradeModeFlags('swap', 18), ['--swap']);
  assert.is(majorOf('130023'), 13);
  assert.is(majorOf('170012'), 17);
  assert.is(majorOf('15\n'), 15);
  assert.throws(() => majorOf('x'), /cannot read a PostgreSQL major/);
});

test('image references and target images', () => {
  assert.equal(parseImageRef('docker.io/library/postgres:13.22@sha256:ab'), { registry: undefined, repo: 'postgres', tag: '13.22', digest: 'sha256:ab' });
  assert.equal(parseImageRef('registry.local:5000/bitnami/postgresql:13.16.0'), { registry: 'registry.local:5000', repo: 'bitnami/postgresql', tag: '13.16.0', digest: undefined });
  assert.is(targetImageFor('postgres:13', 15), 'postgres:15');
  assert.is(targetImageFor('docker.io/bitnami/postgresql:13.16.0-debian-12-r0', 17), 'bitnami/postgresql:17');
  assert.is(targetImageFor('registry.local:5000/bitnamilegacy/postgresql:13', 15), 'registry.local:5000/bitnamilegacy/postgresql:15');
  assert.is(targetImageFor('cciserver.azurecr.io/circleci/server-postgres:12.16', 14), undefined);
  assert.is(isKnownRepo('circleci/server-postgres:12'), false);
  assert.is(upgradeImageFor(13, 17), 'tianon/postgres-upgrade:13-to-17');
});

test.run();
