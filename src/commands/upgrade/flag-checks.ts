import { superuserSecretOf } from '../../global-args.ts';
import { parseSelector } from '../../k8s/selector.ts';
import { verifyDumpFlags, verifyImageFlags } from '../../postgres/image-flags.ts';
import { targetProblem } from '../../postgres/versions.ts';
import { usageError } from '../../exit-codes.ts';
import type { UpgradeArgs } from './flags.ts';

/** Refuses a combination of flags that does not go together, or a bad value. */
export function checkUpgradeArgs(a: UpgradeArgs): true {
  const target = targetProblem(a.to);
  if (target) throw usageError(target);
  if (a.method === 'swap' && a.to < 18)
    throw usageError(`--method swap needs --to 18 or later (pg_upgrade --swap), not ${a.to}`);
  if (!(a.timeout > 0)) throw usageError(`--timeout ${a.timeout}: give a number of seconds above 0`);
  const dumpOnly =
    (['target', 'target-image', 'storage-class', 'size'] as const).find((k) => a[k] !== undefined) ??
    (a.cutover ? undefined : 'no-cutover');
  if (dumpOnly && a.method !== 'dump') throw usageError(`--${dumpOnly} goes with --method dump`);
  if (a['discard-dump-rollback'] && a.method === 'dump')
    throw usageError('--discard-dump-rollback goes with an upgrade in place, not --method dump');
  if (a.method === 'dump' && (a.rehearse || a.image || a['job-image']))
    throw usageError(
      `--method dump does not go with ${a.rehearse ? '--rehearse' : a.image ? '--image (use --target-image)' : '--job-image'}`,
    );
  if (a.rehearse && (a.rollback || a['dry-run']))
    throw usageError(
      `--rehearse changes nothing of production already; it does not go with ${a.rollback ? '--rollback' : '--dry-run'}`,
    );
  if (a['pause-gitops'] && (a.rehearse || a['gitops-paused'])) {
    throw usageError(
      `--pause-gitops does not go with ${a.rehearse ? '--rehearse (a rehearsal stops nothing of production)' : '--gitops-paused (either you paused it, or the plugin does)'}`,
    );
  }
  if (a['keep-snapshot'] && !a.rehearse)
    throw usageError('--keep-snapshot goes with --rehearse (the upgrade always keeps its snapshot)');
  parseSelector(a['app-selector']);
  const image =
    verifyImageFlags(a.image, a['job-image'], a.to) ??
    verifyDumpFlags({ targetImage: a['target-image'], size: a.size, storageClass: a['storage-class'], to: a.to });
  if (image) throw usageError(image);
  superuserSecretOf(a['superuser-secret']);
  return true;
}
