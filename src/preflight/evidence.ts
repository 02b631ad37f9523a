import { isKnownRepo, noUpgradeImageAdvice, targetImageFor, upgradeImageFor } from '../postgres/images.ts';
import { isServerImage } from '../postgres/libc.ts';
import { majorOf, upgradePathProblem } from '../postgres/versions.ts';
import type { CheckCtx, CheckOptions } from './context.ts';
import type { Evidence } from './finding.ts';

/** What check found, in the shape its rules judge; upgrade's preflight judges the same. */
export function evidenceOf(c: CheckCtx, opts: CheckOptions): Evidence {
  const from = c.server
    ? majorOf(String(c.server.versionNum))
    : c.volume?.pgVersion
      ? Number(c.volume.pgVersion)
      : undefined;
  const published = from === undefined ? undefined : upgradeImageFor(from, opts.to);
  const targetImage =
    opts.image ??
    (opts.method === 'dump'
      ? `postgres:${opts.to}`
      : from === undefined
        ? `tianon/postgres-upgrade:?-to-${opts.to}`
        : (published ?? 'none published'));
  const imageProblem =
    opts.image === undefined && opts.method !== 'dump' && from !== undefined && from < opts.to && !published
      ? noUpgradeImageAdvice(from, opts.to)
      : undefined;
  // check's --image is the upgrade's image: one whose tag names one major is the server's new image too.
  const named = opts.workloadImage ?? (opts.image && isServerImage(opts.image) ? opts.image : undefined);
  return {
    d: c.d,
    to: opts.to,
    method: opts.method,
    targetImage,
    serverImage: named ?? targetImageFor(c.d.image, opts.to),
    targetIsStock:
      opts.image === undefined || isKnownRepo(opts.image) || targetImage.startsWith('tianon/postgres-upgrade:'),
    access: c.access,
    snapshotDrivers: c.snapshotDrivers,
    server: c.server,
    databases: c.databases,
    credentialsError: c.credentialsError,
    remoteLoginError: c.remoteLoginError,
    ownerReadings: c.ownerReadings,
    volume: c.volume,
    imageProblem,
    workloadImage: opts.workloadImage,
    pathProblem: from === undefined ? undefined : upgradePathProblem(from, opts.to, opts.method),
    offline: c.probe
      ? {
          probe: c.probe.pod,
          image: c.probe.image,
          controlData: c.controlData,
          serverError: c.serverError,
          pgUpgradeCheck: c.pgUpgradeCheck,
        }
      : undefined,
  };
}
