/** The upgrade Job of an in-place record as the unit tests' records hold it: StatefulSet ns/db, 13 → 15, link. */
export const jobSpec = {
  name: 'pgupgrade-db-to-15',
  namespace: 'ns',
  workload: 'StatefulSet/db',
  image: 'tianon/postgres-upgrade:13-to-15',
  claim: 'data-db-0',
  mountPath: '/bitnami/postgresql',
  pgdata: '/bitnami/postgresql/data',
  from: 13,
  to: 15,
  method: 'link' as const,
  installUser: 'postgres',
  removedSettings: [],
  initdb: [],
  uid: 1001,
  gid: 1001,
};
