import { gitopsOwners } from '../../../postgres/gitops-pause.ts';
import { dumpGitChange } from '../../../postgres/gitops-git-change.ts';
import { managersOfAll } from '../../../postgres/gitops.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import { dst, type DumpCtx } from './ctx.ts';

/** After a cutover, the change to make in Git for the Argo CD/Flux objects that manage the source, or undefined. */
export function gitChangeOf(c: DumpCtx): string | undefined {
  const s = dst(c);
  return s.cutover
    ? dumpGitChange(gitopsOwners(managersOfAll([c.d.workload, ...(c.cutoverServices ?? [])]), c.d.namespace), {
        source: `${s.workload.kind}/${s.workload.name}`,
        sourceStopped: !keepsSourceRunning(s),
        target: `${s.target.kind.toLowerCase()}/${s.target.name}`,
        services: s.services.map((x) => x.name),
      })
    : undefined;
}
