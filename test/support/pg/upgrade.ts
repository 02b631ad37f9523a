import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Major } from './fetch.ts';
import { BITNAMI, runOn, writeHba } from './server.ts';

import type { SqlRunner } from './fingerprint.ts';

/** pg_upgrade's transfer modes; `swap` (moving the old cluster's directories) is 18's. */
export type UpgradeMode = 'link' | 'copy' | 'clone' | 'swap';

/**
 * Debian trixie's PostgreSQL 17.12 tags every new column with an attribute option `pg_attver`, which sid's 18.6
 * rejects ("unrecognized parameter") when pg_upgrade restores the schema, after `pg_upgrade --check` passed.
 * The option carries no data, so the test clusters drop it before a 17→18 upgrade; `check` reports it.
 */
export async function clearPg17Attver(sql: SqlRunner, databases: string[]): Promise<void> {
  for (const db of databases) {
    await sql(
      db,
      "UPDATE pg_catalog.pg_attribute SET attoptions = (SELECT NULLIF(array_agg(o), '{}') FROM unnest(attoptions) o WHERE o NOT LIKE 'pg_attver=%') " +
        "WHERE attoptions::text LIKE '%pg_attver=%'",
    );
  }
}

/** Reads `Data page checksum version` of a stopped cluster: 0 means off. */
export async function checksumsOn(major: Major, volume: string, data: string = BITNAMI.data): Promise<boolean> {
  const out = await runOn([major], volume, [`/usr/lib/postgresql/${major}/bin/pg_controldata`, data], { LC_ALL: 'C' });
  const m = /Data page checksum version:\s+(\d+)/.exec(out);
  if (!m) throw new Error(`pg_controldata printed no checksum version:\n${out}`);
  return m[1] !== '0';
}

/** The pg_upgrade flag for a mode: PostgreSQL 15 and older have no --copy, because copying is their default. */
export function modeFlag(mode: UpgradeMode, to: Major): string[] {
  if (mode === 'copy') return to >= 16 ? ['--copy'] : [];
  if (mode === 'swap' && to < 18) throw new Error(`pg_upgrade ${to} has no --swap: it came with 18`);
  return [`--${mode}`];
}

/**
 * pg_upgrade of the stopped cluster at /bitnami/postgresql/data, done by hand inside the sandbox as UID 1001:
 * initdb of the new major with the old cluster's checksum setting, `pg_upgrade --check`, the upgrade itself,
 * pg_hba.conf carried over (pg_upgrade does not), then the directories swapped, leaving
 * data-<old>.preupgrade. Returns pg_upgrade's output and how long the upgrade step took.
 */
export async function upgradeInSandbox(
  from: Major,
  to: Major,
  volume: string,
  mode: UpgradeMode,
): Promise<{ output: string; ms: number }> {
  const newData = `${BITNAMI.mount}/data-${to}`;
  const checksums = await checksumsOn(from, volume);
  const initArgs = checksums ? ['--data-checksums'] : to >= 18 ? ['--no-data-checksums'] : [];
  await runOn([to], volume, [
    `/usr/lib/postgresql/${to}/bin/initdb`,
    '-D',
    newData,
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    ...initArgs,
  ]);
  const common = [
    '--old-bindir',
    `/usr/lib/postgresql/${from}/bin`,
    '--new-bindir',
    `/usr/lib/postgresql/${to}/bin`,
    '--old-datadir',
    BITNAMI.data,
    '--new-datadir',
    newData,
    '--username',
    'postgres',
    '--jobs',
    '2',
  ];
  const bin = `/usr/lib/postgresql/${to}/bin/pg_upgrade`;
  const check = await runOn([from, to], volume, [bin, ...common, '--check']);
  const started = Date.now();
  const output = await runOn([from, to], volume, [bin, ...common, ...modeFlag(mode, to)]).catch((err: Error) => {
    throw new Error(`${err.message}\n${pgUpgradeLogs(path.join(volume, `data-${to}`))}`);
  });
  const ms = Date.now() - started;
  fs.copyFileSync(path.join(volume, 'data', 'pg_hba.conf'), path.join(volume, `data-${to}`, 'pg_hba.conf'));
  writeHba(path.join(volume, `data-${to}`));
  fs.renameSync(path.join(volume, 'data'), path.join(volume, `data-${from}.preupgrade`));
  fs.renameSync(path.join(volume, `data-${to}`), path.join(volume, 'data'));
  return { output: check + output, ms };
}

/** The last lines of every log pg_upgrade left in the new data directory, for failure messages. */
export function pgUpgradeLogs(newData: string): string {
  const root = path.join(newData, 'pg_upgrade_output.d');
  if (!fs.existsSync(root)) return '(pg_upgrade left no logs)';
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.log'))
    .map((e) => {
      const lines = fs.readFileSync(path.join(e.parentPath, e.name), 'utf8').trimEnd().split('\n');
      return `--- ${e.name} (last ${Math.min(15, lines.length)} lines) ---\n${lines.slice(-15).join('\n')}`;
    })
    .join('\n');
}
