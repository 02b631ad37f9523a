import { buildUpgradeJob } from '../../manifests/upgrade-job.ts';
import { buildRestorePvc, buildVolumeSnapshot, derivedName } from '../../manifests/snapshot.ts';
import { parseImageRef } from '../../postgres/images.ts';
import { relayoutNote } from '../../postgres/relayout.ts';
import { refOf } from '../../postgres/workload.ts';
import type { ScaledWorkload, UpgradeState } from '../../state/state.ts';
import type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
import { describeStrategy, RECREATE_PATCH, restoreStrategyPatch } from '../../postgres/strategy.ts';
import { pausePatch, resumePatch, type PausedOwner } from '../../postgres/gitops-pause.ts';

/** --pause-gitops: the merge patch on each Argo CD/Flux object; `back`: the one that puts back its value (as read now; recorded before the pause). */
export const gitopsSteps = (owners: PausedOwner[], back: boolean) =>
  owners.map((o) => ({
    step: back
      ? `resume ${o.kind} ${o.namespace}/${o.name}: the value recorded before the pause put back exactly`
      : `pause ${o.kind} ${o.namespace}/${o.name} (recorded first)`,
    patch: {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { name: o.name, namespace: o.namespace },
      ...(back ? resumePatch(o) : pausePatch(o)),
    },
  }));

/** Every object and patch the upgrade will apply, in order, for --dry-run. */
export function plannedObjects(ctx: UpgradeCtx, opts: UpgradeOptions): object[] {
  const s = ctx.state as UpgradeState;
  const ns = ctx.d.namespace;
  const scale = (w: ScaledWorkload, replicas: number, why: string) => ({
    step: why,
    patch: { apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: ns }, spec: { replicas } },
  });
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const out: object[] = [
    { step: 'record of the upgrade, updated after each phase', object: cm(ctx.names.state) },
    ...gitopsSteps(ctx.pauseOwners ?? [], false),
    ...s.apps.map((a) => scale(a, 0, 'scale the application down')),
  ];
  if (!opts.snapshot)
    out.push({
      step: 'reference fingerprint, read from the server once the applications are down (--no-snapshot)',
      object: cm(ctx.names.fingerprint),
    });
  const strategy = (patch: object, why: string) => ({
    step: why,
    patch: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: s.workload.name, namespace: ns }, ...patch },
  });
  if (s.strategy)
    out.push(
      strategy(
        RECREATE_PATCH,
        `set the Deployment's ${describeStrategy(s.strategy)} aside: Recreate while the database is stopped`,
      ),
    );
  out.push(scale(s.workload, 0, 'stop the database'));
  if (opts.snapshot) out.push(...snapshotSteps(ctx, opts));
  out.push({ step: 'the upgrade Job', object: buildUpgradeJob(ctx.job) });
  if (opts.patchWorkload) out.push(workloadPatchStep(s, ns));
  out.push(scale(s.workload, s.workload.replicas, 'start the database'));
  if (s.strategy)
    out.push(
      strategy(restoreStrategyPatch(s.strategy), "put the Deployment's own strategy back once the new server is up"),
    );
  out.push(
    ...s.apps.map((a) => scale(a, a.replicas, 'scale the application back up')),
    ...gitopsSteps(ctx.pauseOwners ?? [], true),
  );
  return out;
}

/** The snapshot of the stopped volume, and the reference fingerprint read from it on a temporary PVC. */
function snapshotSteps(ctx: UpgradeCtx, opts: UpgradeOptions): object[] {
  const s = ctx.state as UpgradeState;
  const ns = ctx.d.namespace;
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const snap = buildVolumeSnapshot({
    namespace: ns,
    workloadKind: s.workload.kind,
    workloadName: s.workload.name,
    pvc: ctx.d.pvc.metadata.name,
    className: "<the default class of the PVC's CSI driver>",
    pgVersion: s.fromVersion,
    pgMajor: s.from,
    takenAt: new Date(),
    consistency: 'stopped',
    reason: `before upgrade to ${s.to}`,
  });
  // Named when the database stops: the plan holds the place of the time.
  snap.metadata.name = snap.metadata.name.replace(/-pgupgrade-\d{8}-\d{6}$/, '-pgupgrade-<yyyymmdd-hhmmss>');
  const reader = `pgupgrade-snapshot-reference-<random>`;
  return [
    { step: 'snapshot of the stopped data volume', object: snap },
    {
      step: `${opts.fullVerify ? 'while the Job runs' : 'once the applications are back'}, the snapshot restored to a temporary PVC, read by a throwaway pod, both deleted`,
      object: buildRestorePvc({
        name: derivedName(snap.metadata.name, 'reference-<random>'),
        namespace: ns,
        snapshot: snap.metadata.name,
        storageClassName: ctx.d.pvc.storageClassName,
        bytes: ctx.d.pvc.capacityBytes ?? 0,
        role: 'snapshot-reference',
      }),
    },
    {
      step: 'the throwaway pod that reads the copy (non-root, restricted), deleted with it',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: reader, namespace: ns } },
    },
    { step: 'reference fingerprint, read from the snapshot', object: cm(ctx.names.fingerprint) },
  ];
}

/** The patch that points the workload at the new major, and at the data's new place when it moved. */
function workloadPatchStep(s: UpgradeState, ns: string): object {
  const r = s.relayout;
  return {
    step: r
      ? `point the workload at the new major and at the data's new place (${relayoutNote(r)})`
      : 'point the workload at the new major',
    patch: {
      apiVersion: 'apps/v1',
      kind: s.workload.kind,
      metadata: { name: s.workload.name, namespace: ns },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: s.container,
                image: s.targetImage,
                ...(r
                  ? {
                      env: [{ name: 'PGDATA', value: r.pgdata }],
                      volumeMounts: [{ name: '<the data volume>', mountPath: r.toMount }],
                    }
                  : {}),
              },
            ],
          },
        },
      },
    },
  };
}

/** The hand-made change for --no-patch-workload: Helm values for the charts we know, else the patch. */
export function manualPatchAdvice(s: UpgradeState, ns: string): string {
  const r = parseImageRef(s.targetImage || s.oldImage);
  const patch = `kubectl -n ${ns} patch ${refOf(s.workload)} --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"${s.container}","image":"${s.targetImage || `<image for ${s.to}>`}"}]}}}}'`;
  const helm =
    r.repo.endsWith('bitnami/postgresql') || r.repo.endsWith('bitnamilegacy/postgresql')
      ? `\nHelm (Bitnami chart): --set image.repository=${r.repo},image.tag=${r.tag ?? s.to}` +
        `${r.repo === 'bitnamilegacy/postgresql' ? ',global.security.allowInsecureImages=true' : ''} (for a subchart, prefix image.*: postgresql.image.tag=…)`
      : '';
  const layout = s.relayout
    ? `\nAnd, in the same change, the data's new place: mount the claim at ${s.relayout.toMount} (it was ${s.relayout.fromMount}) and set ` +
      `PGDATA=${s.relayout.pgdata} in container ${s.container}: the upgrade moved the cluster there.`
    : '';
  return (
    `Point ${refOf(s.workload)} at PostgreSQL ${s.to} yourself (in your Helm values or Git repository, so that nothing reverts it):\n  ${patch}${helm}${layout}\n` +
    `Then run the same upgrade command again: it resumes, starts the database and the applications, and verifies the data.`
  );
}
