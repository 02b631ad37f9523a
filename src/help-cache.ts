/**
 * `--help` pre-rendered at build time by the real yargs parser (scripts/build.ts), so that asking for help does
 * not pay for loading yargs: about 35 ms of a 65 ms start. Only the exact forms below are served from the
 * table; anything else goes through the parser. PGUPGRADE_HELP_CACHE=off turns it off (the e2e tests compare).
 */
export const HELP_FORMS: readonly string[][] = [['--help'], ['-h']];

/** The table key for argv, or undefined when argv is not a plain help request. */
export function helpKey(argv: string[], commands: readonly string[]): string | undefined {
  if (argv.length === 1 && HELP_FORMS.some((f) => f[0] === argv[0])) return '';
  if (argv.length === 2 && commands.includes(argv[0] as string) && (argv[1] === '--help' || argv[1] === '-h')) {
    return argv[0];
  }
  return undefined;
}

/** The pre-rendered help for argv, if the table has it. */
export function cachedHelp(argv: string[], table: Record<string, string> | undefined): string | undefined {
  if (!table) return undefined;
  const key = helpKey(
    argv,
    Object.keys(table).filter((k) => k !== ''),
  );
  return key === undefined ? undefined : table[key];
}
