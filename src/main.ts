import { cachedHelp } from './help-cache.ts';

// Filled in by scripts/build.ts with the help texts that yargs rendered at build time.
declare const __PGUPGRADE_HELP__: Record<string, string> | undefined;

const argv = process.argv.slice(2);
const table =
  typeof __PGUPGRADE_HELP__ === 'object' && process.env.PGUPGRADE_HELP_CACHE !== 'off' ? __PGUPGRADE_HELP__ : undefined;
const help = cachedHelp(argv, table);
if (help !== undefined) process.stdout.write(help);
else void import('./cli.ts').then((cli) => cli.main(argv));
