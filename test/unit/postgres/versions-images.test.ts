import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  majorOf,
  NEWEST_MAJOR,
  pairTraps,
  pgUpgradeModeFlags,
  SOURCE_MAJORS,
  TARGET_MAJORS,
  upgradePathProblem,
} from '../../../src/postgres/versions.ts';
import {
  BITNAMI_LEGACY_TAGS,
  bitnamiTargetNote,
  isBitnamiRepo,
  isKnownRepo,
  noUpgradeImageAdvice,
  parseImageRef,
  targetImageFor,
  upgradeImageFor,
} from '../../../src/postgres/images.ts';
import { imageRefProblem, tagMajors, verifyDumpFlags, verifyImageFlags } from '../../../src/postgres/image-flags.ts';

test('upgrade paths: only upward, only supported majors, swap only into 18+', () => {
  assert.is(upgradePathProblem(13, 15, 'link'), undefined);
  assert.is(upgradePathProblem(13, 18, 'swap'), undefined);
  assert.match(upgradePathProblem(15, 15, 'link') ?? '', 'must be greater than the running major 15');
  assert.match(upgradePathProblem(15, 13, 'link') ?? '', 'must be greater');
  assert.match(
    upgradePathProblem(9, 15, 'link') ?? '',
    'PostgreSQL 9 is not a major this plugin upgrades from (supported: 10–17)',
  );
  assert.match(upgradePathProblem(13, 19, 'link') ?? '', '--to 19 is not a supported target (supported: 12–18)');
  assert.match(upgradePathProblem(10, 11, 'dump') ?? '', '--to 11 is not a supported target');
  // Every pair that pg_upgrade accepts, from 10 to 17 into 12 to 18, upward.
  for (const from of SOURCE_MAJORS)
    for (const to of TARGET_MAJORS) {
      assert.is(
        upgradePathProblem(from, to, 'copy'),
        to > from ? undefined : `--to ${to} must be greater than the running major ${from}`,
        `${from}→${to}`,
      );
    }
  assert.is(upgradePathProblem(12, 14, 'link'), undefined, "the seeds' own pair");
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
  assert.equal(parseImageRef('docker.io/library/postgres:13.22@sha256:ab'), {
    registry: undefined,
    repo: 'postgres',
    tag: '13.22',
    digest: 'sha256:ab',
  });
  assert.equal(parseImageRef('registry.local:5000/bitnami/postgresql:13.16.0'), {
    registry: 'registry.local:5000',
    repo: 'bitnami/postgresql',
    tag: '13.16.0',
    digest: undefined,
  });
  assert.is(targetImageFor('postgres:13', 15), 'postgres:15');
  // Bitnami's tags stopped in August 2025; the frozen copies live in bitnamilegacy/postgresql at full tags.
  assert.is(
    targetImageFor('docker.io/bitnami/postgresql:13.16.0-debian-12-r0', 17),
    'bitnamilegacy/postgresql:17.6.0-debian-12-r4',
  );
  assert.is(
    targetImageFor('registry.local:5000/bitnamilegacy/postgresql:13', 15),
    'registry.local:5000/bitnamilegacy/postgresql:15.10.0-debian-12-r2',
  );
  assert.is(targetImageFor('bitnami/postgresql:17', 18), undefined, 'no free Bitnami image of 18 exists');
  assert.is(targetImageFor('cciserver.azurecr.io/circleci/server-postgres:12.16', 14), undefined);
  assert.is(isKnownRepo('circleci/server-postgres:12'), false);
  assert.is(upgradeImageFor(13, 17), 'tianon/postgres-upgrade:13-to-17');
});

test('a Bitnami source: the frozen bitnamilegacy tag of each major, a warning that names the ways out, and no made-up tag for 18', () => {
  for (const [major, tag] of Object.entries(BITNAMI_LEGACY_TAGS)) {
    assert.match(String(tag), new RegExp(`^${major}\\.\\d+\\.\\d+-debian-12-r\\d+$`), 'a full tag of its own major');
    assert.equal(tagMajors(`bitnamilegacy/postgresql:${tag}`), [Number(major)]);
  }
  const warn = bitnamiTargetNote('docker.io/bitnami/postgresql:13.0.0-debian-12-r0', 15);
  assert.is(warn?.image, 'bitnamilegacy/postgresql:15.10.0-debian-12-r2');
  assert.match(warn?.note ?? '', 'gets no updates');
  assert.match(warn?.fix ?? '', '--image');
  assert.match(warn?.fix ?? '', '--method dump');
  const none = bitnamiTargetNote('bitnamilegacy/postgresql:17.6.0-debian-12-r4', 18);
  assert.is(none?.image, undefined);
  assert.match(none?.note ?? '', 'no free image of PostgreSQL 18');
  assert.match(none?.fix ?? '', '--to 17');
  assert.is(bitnamiTargetNote('postgres:13', 15), undefined, 'the official image is maintained');
  assert.is(
    bitnamiTargetNote('cciserver.azurecr.io/circleci/server-postgres:12.16', 14),
    undefined,
    "a vendor image on Bitnami's layout is the vendor's",
  );
  assert.ok(isBitnamiRepo('docker.io/bitnamilegacy/postgresql:13'));
});

test('the upgrade image: tianon publishes OLD-to-NEW up to five majors apart; wider jumps get advice, not a made-up tag', () => {
  assert.is(upgradeImageFor(12, 14), 'tianon/postgres-upgrade:12-to-14');
  assert.is(upgradeImageFor(10, 15), 'tianon/postgres-upgrade:10-to-15');
  assert.is(upgradeImageFor(13, 18), 'tianon/postgres-upgrade:13-to-18');
  assert.is(upgradeImageFor(12, 18), undefined);
  assert.is(upgradeImageFor(10, 16), undefined);
  const advice = noUpgradeImageAdvice(12, 18);
  assert.match(advice, 'no published tianon/postgres-upgrade image upgrades 12 to 18');
  assert.match(advice, '--to 17, then --to 18');
  assert.match(advice, '--job-image');
  assert.match(noUpgradeImageAdvice(10, 18), '--to 15, then --to 18');
});

test('the traps of each pair: only the majors crossed', () => {
  const ids = (f: number, t: number) => pairTraps(f, t).map((x) => x.id);
  assert.equal(ids(11, 12), ['with-oids', 'removed-types', 'sql-identifier', 'replication-slots']);
  assert.equal(ids(12, 14), ['postfix-operators', 'encoding-conversions', 'replication-slots']);
  assert.equal(ids(14, 16), ['aclitem-columns', 'generated-children', 'replication-slots']);
  assert.equal(ids(17, 18), ['initdb', 'passwords', 'pg-attver']);
  assert.equal(ids(16, 18), ['initdb', 'passwords', 'replication-slots']);
  assert.equal(ids(10, 18).slice(0, 6), [
    'with-oids',
    'removed-types',
    'sql-identifier',
    'postfix-operators',
    'encoding-conversions',
    'aclitem-columns',
  ]);
});

test('image references: what a kubelet could pull, and the majors a tag names', () => {
  for (const ok of [
    'postgres:15',
    'bitnami/postgresql:15.4.0-debian-12-r0',
    'registry.example.com:5000/acme/pg:17',
    'localhost/pg',
    `postgres@sha256:${'a'.repeat(64)}`,
    'tianon/postgres-upgrade:13-to-15',
  ])
    assert.is(imageRefProblem(ok), undefined, ok);
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
  assert.match(
    verifyImageFlags('postgres:16', undefined, 17) ?? '',
    '--image postgres:16 runs PostgreSQL 16 (its tag says so), but --to is 17',
  );
  assert.match(
    verifyImageFlags('postgres 17', undefined, 17) ?? '',
    '--image "postgres 17": an image reference holds no spaces',
  );
  assert.match(verifyImageFlags(undefined, 'tianon/postgres-upgrade:13-to-15', 17) ?? '', 'upgrades 13 to 15');
  assert.match(
    verifyImageFlags(undefined, 'tianon/postgres-upgrade:15-to-17', 17, 13) ?? '',
    'e.g. tianon/postgres-upgrade:13-to-17',
  );
  assert.is(
    verifyImageFlags(undefined, 'tianon/postgres-upgrade:13-to-17', 17),
    undefined,
    'before discovery the running major is unknown',
  );
});

test("the dump method's flags are checked like --image: --target-image, --size, --storage-class", () => {
  assert.is(verifyDumpFlags({ to: 15 }), undefined);
  assert.is(
    verifyDumpFlags({
      targetImage: 'bitnami/postgresql:15.4.0-debian-12-r0',
      size: '20Gi',
      storageClass: 'fast-ssd.local',
      to: 15,
    }),
    undefined,
  );
  assert.match(
    String(verifyDumpFlags({ targetImage: 'postgres:17', to: 15 })),
    '--target-image postgres:17 runs PostgreSQL 17 (its tag says so), but --to is 15',
  );
  assert.match(
    String(verifyDumpFlags({ targetImage: 'Postgres:15', to: 15 })),
    '--target-image "Postgres:15": not an image reference',
  );
  assert.match(
    String(verifyDumpFlags({ targetImage: 'tianon/postgres-upgrade:13-to-15', to: 15 })),
    'an upgrade image',
  );
  for (const size of ['20GB', '-1Gi', '0', '0Gi', 'lots', ''])
    assert.match(String(verifyDumpFlags({ size, to: 15 })), '--size', size);
  for (const storageClass of ['Fast', 'a b', '-x', ''])
    assert.match(String(verifyDumpFlags({ storageClass, to: 15 })), '--storage-class', storageClass);
});

test.run();
