import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseImage, splitRef } from '../../support/sandbox/images.ts';
import { currentImageMap, IMAGE_MAP_ENV, matchImage, readImageMap } from '../../support/sandbox/image-map.ts';
import { parentDirs } from '../../support/sandbox/bwrap.ts';

test('references with registries, library/ and digests', () => {
  assert.equal(splitRef('docker.io/library/postgres:13.22-bookworm'), { repo: 'postgres', tag: '13.22-bookworm' });
  assert.equal(splitRef('registry.example.com:5000/bitnami/postgresql:15.4.0@sha256:abc'), {
    registry: 'registry.example.com:5000',
    repo: 'bitnami/postgresql',
    tag: '15.4.0',
  });
  assert.equal(splitRef('busybox'), { repo: 'busybox', tag: 'latest' });
});

test('the images the agent knows, and their layouts', () => {
  const pg = parseImage('postgres:13')!;
  assert.equal([pg.flavour, pg.majors, pg.user, pg.stopSignal], ['postgres', [13], 0, 'SIGINT']);
  assert.match(pg.env.PATH as string, /^\/usr\/lib\/postgresql\/13\/bin:/);
  const bn = parseImage('docker.io/bitnamilegacy/postgresql:17.6.0-debian-12-r4')!;
  assert.equal([bn.flavour, bn.majors, bn.user], ['bitnami', [17], 1001]);
  assert.not.ok(
    bn.passwd.some((l) => l.includes(':1001:')),
    'UID 1001 has no passwd entry, as in the real image',
  );
  const up = parseImage('tianon/postgres-upgrade:13-to-17')!;
  assert.equal([up.flavour, up.majors, up.env.PGBINOLD], ['upgrade', [13, 17], '/usr/lib/postgresql/13/bin']);
  assert.is(parseImage('busybox:1.36')?.flavour, 'shell');
  const cci = parseImage('cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444')!;
  assert.equal(
    [cci.flavour, cci.majors, cci.user],
    ['bitnami', [14], 1001],
    "CircleCI Server's image is built on Bitnami's",
  );
  const client = parseImage('alpine/psql:15.8')!;
  assert.equal(
    [client.flavour, client.majors, client.env.PATH?.split(':')[0]],
    ['shell', [15], '/usr/lib/postgresql/15/bin'],
  );
});

test('the alpine images: UID 70, the binaries in /usr/local/bin; an idle sidecar; a client', () => {
  const al = parseImage('postgres:12-alpine')!;
  assert.equal(
    [al.layout, al.flavour, al.majors, al.env.PATH?.startsWith('/usr/local/sbin:/usr/local/bin:')],
    ['alpine', 'postgres', [12], true],
  );
  assert.ok(al.passwd.includes('postgres:x:70:70::/var/lib/postgresql:/bin/sh'));
  assert.is(parseImage('postgres:12.22-bookworm')?.layout, 'official');
  assert.is(parseImage('alpine/psql:15.8')?.layout, 'client');
  const idle = parseImage('bitnami/postgres-exporter:0.15.0', [
    { repository: 'bitnami/postgres-exporter', layout: 'idle' },
  ])!;
  assert.equal([idle.layout, idle.majors, idle.entrypoint], ['idle', [], ['sleep', 'infinity']]);
});

function mapFile(text: string): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'imagemap-')), 'map.yaml');
  fs.writeFileSync(f, text);
  return f;
}

test('PGUPGRADE_TEST_IMAGE_MAP adds entries before the built-in ones: a vendor image is one line', () => {
  const devtron = 'quay.io/devtron/postgres:14.9.0-debian-11-r31';
  assert.is(parseImage(devtron), undefined, 'not in the built-in table');
  const file = mapFile(
    '- { repository: quay.io/devtron/postgres, layout: bitnami }\n- { repository: "*/postgres-exporter", layout: idle }\n',
  );
  const table = currentImageMap({ [IMAGE_MAP_ENV]: file });
  const spec = parseImage(devtron, table)!;
  assert.equal(
    [spec.layout, spec.majors, spec.user, spec.env.POSTGRESQL_VOLUME_DIR],
    ['bitnami', [14], 1001, '/bitnami/postgresql'],
  );
  assert.is(
    parseImage('docker.io/devtron/postgres:14', table),
    undefined,
    'a pattern that names a registry matches that registry only',
  );
  assert.is(parseImage('bitnami/postgres-exporter:0.15.0-debian-12-r14', table)?.layout, 'idle');
  assert.is(parseImage('postgres:16', table)?.layout, 'official', 'the built-in entries still serve');
  assert.is(
    matchImage('postgres:16', [{ repository: 'postgres', layout: 'bitnami' }, ...table])?.layout,
    'bitnami',
    'the first match wins',
  );
  assert.is(
    parseImage('quay.io/devtron/postgres:latest', table),
    undefined,
    'a database layout needs the major in the tag',
  );
});

test('a broken image map is refused with the file, the entry and what is wrong', () => {
  assert.throws(
    () => readImageMap(mapFile('- { repository: x/pg, layout: bitnamy }\n')),
    /map\.yaml, entry 1 \(x\/pg\): layout must be one of official, alpine, bitnami/,
  );
  assert.throws(() => readImageMap(mapFile('- { layout: idle }\n')), /entry 1: no repository/);
  assert.throws(
    () => readImageMap(mapFile('- { repository: x/pg, layout: bitnami, major: 14 }\n')),
    /unknown field major \(the major comes from the tag\)/,
  );
  assert.throws(() => readImageMap(mapFile('repository: x\n')), /a list of \{ repository, layout \} entries/);
  assert.throws(
    () => currentImageMap({ [IMAGE_MAP_ENV]: '/nonexistent/map.yaml' }),
    /image map \/nonexistent\/map\.yaml: ENOENT/,
  );
});

test('unknown images are refused', () => {
  assert.is(parseImage('mysql:8'), undefined);
  assert.is(
    parseImage('tianon/postgres-upgrade:12-to-18'),
    undefined,
    'never published: tianon spans at most five majors',
  );
  assert.is(parseImage('tianon/postgres-upgrade:15-to-13'), undefined);
  assert.is(parseImage('postgres:latest'), undefined);
  assert.is(parseImage('bitnami/postgresql:15'), undefined, 'Bitnami stopped publishing major tags in August 2025');
  assert.is(parseImage('docker.io/bitnamilegacy/postgresql:15'), undefined, 'bitnamilegacy holds the version tags');
  assert.ok(parseImage('bitnamilegacy/postgresql:15.10.0-debian-12-r2'));
});

test('mount points get 0755 parents, outside the system dirs', () => {
  assert.equal(
    parentDirs(['/bitnami/postgresql', '/tmp/x/y', '/usr/lib/x/y']),
    ['--perms', '0755', '--dir', '/bitnami', '--perms', '0755', '--dir', '/tmp/x'],
    "below the fresh /tmp tmpfs the ancestors are made; below the host's /usr they exist",
  );
  assert.equal(parentDirs(['/root/.cache/a']), [
    '--perms',
    '0755',
    '--dir',
    '/root',
    '--perms',
    '0755',
    '--dir',
    '/root/.cache',
  ]);
});

test.run();
