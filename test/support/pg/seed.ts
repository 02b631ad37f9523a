import type { SqlRunner } from './fingerprint.ts';

/** The login roles the seed makes, one per password-hash kind, with their test-only passwords. */
export const SEED_ROLES = {
  md5: { name: 'app_md5', password: 'md5-role-pass-4f2a' },
  scram: { name: 'app_scram', password: 'scram-role-pass-9c1e' },
} as const;

/** The application databases the seed makes, beside `postgres`. */
export const SEED_DATABASES = ['app1', 'app2'];

/** Roles: one whose password is stored as md5 (the seed 000 trap) and one stored as SCRAM. */
export const ROLES_SQL = `
SET password_encryption = 'md5';
CREATE ROLE ${SEED_ROLES.md5.name} LOGIN PASSWORD '${SEED_ROLES.md5.password}';
SET password_encryption = 'scram-sha-256';
CREATE ROLE ${SEED_ROLES.scram.name} LOGIN PASSWORD '${SEED_ROLES.scram.password}';
`;

/**
 * One application database's content: tables with a primary key, a unique and a GIN index, hstore and pgcrypto
 * data, bytea, a foreign key, a sequence advanced past its start, a view, a SQL function and a large object.
 * Deterministic, so two seeds of the same size are equal.
 */
export function appSchemaSql(rows: number): string {
  return `
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, attrs hstore, secret bytea,
  created timestamptz NOT NULL);
INSERT INTO customers (name, email, attrs, secret, created)
  SELECT 'customer ' || g, 'c' || g || '@example.com', hstore('tier', (g % 3)::text) || hstore('region', 'r' || (g % 7)),
    digest('secret-' || g, 'sha256'), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
  FROM generate_series(1, ${rows}) g;
CREATE INDEX customers_created ON customers (created);
CREATE INDEX customers_attrs ON customers USING gin (attrs);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, amount numeric(10,2), note text);
INSERT INTO orders (customer_id, amount, note)
  SELECT 1 + (g % ${rows}), round((g * 7.31)::numeric % 1000, 2), encode(hmac('o' || g, 'k', 'sha1'), 'hex')
  FROM generate_series(1, ${rows * 3}) g;
CREATE SEQUENCE invoice_seq START 1000;
SELECT nextval('invoice_seq') FROM generate_series(1, 7);
CREATE VIEW big_orders AS SELECT o.id, c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.amount > 500;
CREATE FUNCTION customer_total(cid int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT coalesce(sum(amount), 0) FROM orders WHERE customer_id = cid $$;
SELECT lo_from_bytea(0, convert_to('a large object of ${rows} rows', 'UTF8'));
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${SEED_ROLES.md5.name}, ${SEED_ROLES.scram.name};
`;
}

/**
 * Seeds a cluster through `sql` (connected as the superuser): the two roles, databases app1 and app2 with
 * the app schema, and, through `pgbench`, pgbench tables at `scale` in app1.
 */
export async function seedCluster(
  sql: SqlRunner,
  opts: { rows?: number; pgbenchScale?: number; pgbench?: (db: string, scale: number) => Promise<void> },
): Promise<void> {
  await sql('postgres', ROLES_SQL);
  for (const db of SEED_DATABASES) {
    await sql('postgres', `CREATE DATABASE ${db}`);
    await sql(db, appSchemaSql(opts.rows ?? 500));
  }
  await sql('postgres', appSchemaSql(50));
  if (opts.pgbenchScale && opts.pgbench) await opts.pgbench('app1', opts.pgbenchScale);
}
