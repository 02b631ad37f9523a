import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { majorOf, NEWEST_MAJOR, pgUpgradeModeFlags, upgradePathProblem } from '../../../src/postgres/versions.ts';
import { imageRefProblem, isKnownRepo, parseImageRef, tagMajors, targetImageFor, upgradeImageFor, verifyImageFlags } from '../../../src/postgres/images.ts';

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

test('image references: what a kubelet could pull, and the majors a tag names', () => {
  for (const ok of ['postgres:15', 'bitnami/postgresql:15.4.0-debian-12-r0', 'registry.example.com:5000/acme/pg:17', 'localhost/pg',
    `postgres@sha256:${'a'.repeat(64)}`, 'tianon/postgres-upgrade:13-to-15']) assert.is(imageRefProblem(ok), undefined, ok);
  assert.match(imageRefProblem('postgres: 15') ?? '', 'no spaces');
  assert.match(imageRefProblem('bitnami/postgresql:15 --privileged') ?? '', 'no spaces');
  assert.match(imageRefProblem('Postgres:15') ?? '', 'lower case');
  assert.match(imageRefProblem('postgres::15') ?? '', 'not an image reference');
  assert.match(imageRefProblem('') ?? '', 'empty');
  assert.equal(tagMajors('postgres:15.4-bookworm'), [15]);
  assert.equal(tagMajors('bitnami/postgresql:17.2.0-debian-12-r3'), [17]);
  assert.equal(tagMajors('tianon/postgres-upgrade:13-to-17'), [13, 17]);
  assert.equal(tagMajors('acme/pg:latest'), []);
  assert.equal(tagMajors('acme/pg'), []);
});

test('--image and --job-image are checked against --to (and the running major) before any downtime', () => {
  assert.is(verifyImageFlags('postgres:17', undefined, 17), undefined);
  assert.is(verifyImageFlags('acme/pg:stable', 'tianon/postgres-upgrade:13-to-17', 17, 13), undefined);
  assert.match(verifyImageFlags('postgres:16', undefined, 17) ?? '', '--image postgres:16 runs PostgreSQL 16 (its tag says so), but --to is 17');
  assert.match(verifyImageFlags('postgres 17', undefined, 17) ?? '', '--image "postgres 17": an image reference holds no spaces');
  assert.match(verifyImageFlags(undefined, 'tianon/postgres-upgrade:13-to-15', 17) ?? '', 'upgrades 13 to 15');
  assert.match(verifyImageFlags(undefined, 'tianon/postgres-upgrade:15-to-17', 17, 13) ?? '', 'e.g. tianon/postgres-upgrade:13-to-17');
  assert.is(verifyImageFlags(undefined, 'tianon/postgres-upgrade:13-to-17', 17), undefined, 'before discovery the running major is unknown');
});

test.run();
