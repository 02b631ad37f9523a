/**
 * A server's own `ALTER SYSTEM` settings (its postgresql.auto.conf), read before the plugin changes some of them and
 * put back exactly afterwards: each set again to the value it had there, and only one that had none RESET. A plain
 * RESET would drop the owner's own setting (an existing --target's `archive_mode = on`: WAL archiving silently off).
 */

/** One setting as the server's postgresql.auto.conf holds it (the text as ALTER SYSTEM wrote it). */
export interface PriorSetting {
  name: string;
  value: string;
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/** A setting's name, checked to be a plain identifier (the names are the plugin's, or read back from its record). */
function settingName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a setting name: ${JSON.stringify(name)}`);
  return name;
}

/**
 * A value as an escape-string literal: `E'…'` with every backslash and quote doubled reads the same whatever
 * standard_conforming_strings is, so no value ends the literal early.
 */
export function settingLiteral(value: string): string {
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * One JSON array of the auto.conf settings among `names`, as `[{name, value}]`, in the file's order (ALTER SYSTEM
 * keeps one line per name). pg_file_settings lists each configuration file's lines; the auto.conf is the one in
 * the data directory. A line is taken whatever its `error`: a setting that needs a restart and was set since the
 * last one reads "setting could not be applied" there, and is the owner's all the same (archive_mode = on, to
 * apply at the next start). Every function and catalog is pg_catalog's.
 */
export function autoConfSql(names: string[]): string {
  const list = names.map((n) => `'${settingName(n)}'`).join(', ');
  return (
    `select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', pg_catalog.lower(f.name), 'value', f.setting) order by f.seqno), '[]') ` +
    `from pg_catalog.pg_file_settings f where f.sourcefile = pg_catalog.current_setting('data_directory') operator(pg_catalog.||) '/postgresql.auto.conf' ` +
    `and pg_catalog.lower(f.name) in (${list})`
  );
}

/** The answer of autoConfSql; a later line for a name wins, as it does for the server. */
export function parsePriorSettings(json: string): PriorSetting[] {
  const rows = JSON.parse(json.trim() || '[]') as unknown;
  if (!Array.isArray(rows)) throw new Error(`not a list of settings: ${json.slice(0, 80)}`);
  const byName = new Map<string, string>();
  for (const r of rows as Array<{ name?: unknown; value?: unknown }>) {
    if (typeof r.name === 'string' && typeof r.value === 'string') byName.set(r.name, r.value);
  }
  return [...byName].map(([name, value]) => ({ name, value }));
}

/** Is this a list of settings as a record keeps them? */
export function isPriorSettings(v: unknown): v is PriorSetting[] {
  return (
    Array.isArray(v) &&
    v.every(
      (x) =>
        typeof x === 'object' &&
        x !== null &&
        typeof (x as PriorSetting).name === 'string' &&
        typeof (x as PriorSetting).value === 'string',
    )
  );
}

/**
 * The statements that put `changed` back as `prior` had them: `ALTER SYSTEM SET name = <its old value>` for each
 * that auto.conf held, `ALTER SYSTEM RESET name` for the others. Not reloaded: the caller adds that.
 */
export function restoreStatements(changed: string[], prior: PriorSetting[]): string[] {
  return changed.map((n) => {
    const before = prior.find((p) => p.name === n);
    return before
      ? `ALTER SYSTEM SET ${settingName(n)} = ${settingLiteral(before.value)};`
      : `ALTER SYSTEM RESET ${settingName(n)};`;
  });
}
