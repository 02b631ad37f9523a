// The seed's own Job (dump-restore-job.md), as the seed writes it: an init container on the old image runs
// pg_dumpall of the old server into a file on a volume, then a container on the new image loads that file with
// psql into the new server, as the new instance's own superuser (pg-14-admin). The volume is an emptyDir, the
// faster of the two the seed offers. Passwords come from the Secret, as environment variables.
import type { Kubectl } from './env.ts';

const pass = { valueFrom: { secretKeyRef: { name: 'postgres', key: 'admin-pass' } } };

/** The seed's Job `pg-update` in `ns`. */
export function seedJobManifest(ns: string): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pg-update', namespace: ns },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'bench-job': 'pg-update' } },
        spec: {
          restartPolicy: 'Never',
          volumes: [{ name: 'dump', emptyDir: {} }],
          initContainers: [
            {
              name: 'pgdump',
              image: 'postgres:12',
              env: [{ name: 'PGPASSWORD', ...pass }],
              command: ['sh', '-c', 'pg_dumpall -w -h postgres -U admin > /dump/pg_dumpall.sql'],
              volumeMounts: [{ name: 'dump', mountPath: '/dump' }],
            },
          ],
          containers: [
            {
              name: 'load',
              image: 'postgres:14',
              env: [{ name: 'PGPASSWORD', ...pass }],
              command: [
                'sh',
                '-c',
                'psql -q -h postgres-v14 -U pg-14-admin -d postgres < /dump/pg_dumpall.sql > /dev/null',
              ],
              volumeMounts: [{ name: 'dump', mountPath: '/dump' }],
            },
          ],
        },
      },
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until no pod matches `sel`. */
export async function waitGone(k: Kubectl, ns: string, sel: string): Promise<void> {
  for (let i = 0; k(['-n', ns, 'get', 'pods', '-l', sel, '-o', 'name'], undefined, true).trim(); i++) {
    if (i > 1500) throw new Error(`pods ${sel} in ${ns} did not go`);
    await sleep(200);
  }
}

/**
 * Runs the seed's Job to its end; the dump's and the load's seconds, told apart by the init container's end. A run
 * that failed because a name did not resolve (the node agent's DNS under load) is run once more, as a user would,
 * and the dump's and the load's seconds are that run's (the caller's end-to-end figure spans both); the caller is told.
 */
export async function seedJob(k: Kubectl, ns: string): Promise<{ dump: number; load: number; retried: boolean }> {
  try {
    return { ...(await seedJobOnce(k, ns)), retried: false };
  } catch (err) {
    if (!/name resolution|could not translate host name/.test((err as Error).message)) throw err;
    console.log(`the seed's Job failed (${(err as Error).message.trim().split('\n')[0]}): run once more`);
    k(['-n', ns, 'delete', 'job', 'pg-update', '--wait=true']);
    await waitGone(k, ns, 'bench-job=pg-update');
    return { ...(await seedJobOnce(k, ns)), retried: true };
  }
}

async function seedJobOnce(k: Kubectl, ns: string): Promise<{ dump: number; load: number }> {
  const t0 = Date.now();
  k(['-n', ns, 'apply', '-f', '-'], JSON.stringify(seedJobManifest(ns)));
  let dumped = 0;
  for (;;) {
    const st = JSON.parse(k(['-n', ns, 'get', 'job', 'pg-update', '-o', 'json'])) as {
      status?: { succeeded?: number; failed?: number };
    };
    if (st.status?.failed)
      throw new Error(
        `the seed's Job failed: ${k(['-n', ns, 'logs', 'job/pg-update', '--all-containers'], undefined, true)}`,
      );
    if (st.status?.succeeded) break;
    if (!dumped) {
      const init = k(
        [
          '-n',
          ns,
          'get',
          'pods',
          '-l',
          'bench-job=pg-update',
          '-o',
          'jsonpath={.items[0].status.initContainerStatuses[0].state.terminated.exitCode}',
        ],
        undefined,
        true,
      ).trim();
      if (init === '0') dumped = Date.now();
    }
    await sleep(200);
  }
  const end = Date.now();
  dumped ||= end;
  return { dump: (dumped - t0) / 1000, load: (end - dumped) / 1000 };
}
