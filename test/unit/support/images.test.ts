import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseImage, splitRef } from '../../support/sandbox/images.ts';
import { parentDirs } from '../../support/sandbox/bwrap.ts';

test('references with registries, library/ and digests', () => {
  assert.equal(splitRef('docker.io/library/postgres:13.22-bookworm'), { repo: 'postgres', tag: '13.22-bookworm' });
  assert.equal(splitRef('registry.example.com:5000/bitnami/postgresql:15.4.0@sha256:abc'), { repo: 'bitnami/postgresql', tag: '15.4.0' });
  assert.equal(splitRef('busybox'), { repo: 'busybox', tag: 'latest' });
});

test('the images the agent knows, and their layouts', () => {
  const pg = parseImage('postgres:13')!;
  assert.equal([pg.flavour, pg.majors, pg.user, pg.stopSignal], ['postgres', [13], 0, 'SIGINT']);
  assert.match(pg.env.PATH as string, /^\/usr\/lib\/postgresql\/13\/bin:/);
  const bn = parseImage('docker.io/bitnamilegacy/postgresql:17.6.0-debian-12-r4')!;
  assert.equal([bn.flavour, bn.majors, bn.user], ['bitnami', [17], 1001]);
  assert.not.ok(bn.passwd.some((l) => l.includes(':1001:')), 'UID 1001 has no passwd entry, as in the real image');
  const up = parseImage('tianon/postgres-upgrade:13-to-17')!;
  assert.equal([up.flavour, up.majors, up.env.PGBINOLD], ['upgrade', [13, 17], '/usr/lib/postgresql/13/bin']);
  assert.is(parseImage('busybox:1.36')?.flavour, 'shell');
  const cci = parseImage('cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444')!;
  assert.equal([cci.flavour, cci.majors, cci.user], ['bitnami', [14], 1001], 'CircleCI Server\'s image is built on Bitnami\'s');
  const client = parseImage('alpine/psql:15.8')!;
  assert.equal([client.flavour, client.majors, client.env.PATH?.split(':')[0]], ['shell', [15], '/usr/lib/postgresql/15/bin']);
});

test('unknown images are refused', () => {
  assert.is(parseImage('mysql:8'), undefined);
  assert.is(parseImage('tianon/postgres-upgrade:12-to-18'), undefined, 'never published: tianon spans at most five majors');
  assert.is(parseImage('tianon/postgres-upgrade:15-to-13'), undefined);
  assert.is(parseImage('postgres:latest'), undefined);
  assert.is(parseImage('bitnami/postgresql:15'), undefined, 'Bitnami stopped publishing major tags in August 2025');
  assert.is(parseImage('docker.io/bitnamilegacy/postgresql:15'), undefined, 'bitnamilegacy holds the version tags');
  assert.ok(parseImage('bitnamilegacy/postgresql:15.10.0-debian-12-r2'));
});

test('mount points get 0755 parents, outside the system dirs', () => {
  assert.equal(parentDirs(['/bitnami/postgresql', '/tmp/x/y', '/usr/lib/x/y']), ['--perms', '0755', '--dir', '/bitnami', '--perms', '0755', '--dir', '/tmp/x'],
    'below the fresh /tmp tmpfs the ancestors are made; below the host\'s /usr they exist');
  assert.equal(parentDirs(['/root/.cache/a']), ['--perms', '0755', '--dir', '/root', '--perms', '0755', '--dir', '/root/.cache']);
});

test.run();
