import { buildRestorePvc, buildVolumeSnapshot, derivedName } from '../../manifests/snapshot.ts';
import { parseImageRef } from '../../postgres/images.ts';
import { relayoutNote } from '../../postgres/relayout.ts';
import { refOf } from '../../postgres/workload.ts';
import type { ScaledWorkload, UpgradeState } from '../../state/state.ts';
import { st, type UpgradeCtx, type UpgradeOptions } from './ctx.ts';
import type { Planned } from '../../engine/phases.ts';

/** A scale of a workload, as the dry run lists it. */
export const scaleStep = (ns: string, w: ScaledWorkload, replicas: number, step: string): Planned => ({
  step,
  patch: { apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: ns }, spec: { replicas } },
});

/** A ConfigMap the run creates, as the dry run lists it. */
export const configMapStep = (ns: string, name: string, step: string): Planned => ({
  step,
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } },
});

/** A patch of the Deployment's strategy (set aside for Recreate, or put back). */
export const strategyStep = (ctx: UpgradeCtx, patch: object, step: string): Planned => ({
  step,
  patch: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: st(ctx).workload.name, namespace: ctx.d.namespace },
    ...patch,
  },
});

/** The snapshot of the stopped volume, and the reference fingerprint read from it on a temporary PVC. */
export function snapshotSteps(ctx: UpgradeCtx, opts: UpgradeOptions): Planned[] {
  const s = st(ctx);
  const ns = ctx.d.namespace;
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
    configMapStep(ns, ctx.names.fingerprint, 'reference fingerprint, read from the snapshot'),
  ];
}

/** The patch that points the workload at the new major, and at the data's new place when it moved. */
export function workloadPatchStep(s: UpgradeState, ns: string): Planned {
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
