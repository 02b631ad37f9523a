// Fetches (once) and prints the PostgreSQL majors the tests use. Usage: node scripts/fetch-postgres.ts [10 11 … 18]
import { ensurePostgres, MAJORS, type Major } from '../test/support/pg/fetch.ts';

const wanted = (process.argv.length > 2 ? process.argv.slice(2).map(Number) : [...MAJORS]) as Major[];
for (const m of wanted) {
  if (!MAJORS.includes(m))
    throw new Error(`PostgreSQL ${m} is not one of the majors the tests use: ${MAJORS.join(', ')}`);
  const started = Date.now();
  const inst = await ensurePostgres(m);
  console.log(`PostgreSQL ${m}: ${inst.libDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
