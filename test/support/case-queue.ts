import type { ControlPlane } from './k8s/control-plane.ts';
import { releaseNamespaces } from './kube/helpers.ts';
import { deployCase, type Deployed } from './upgrade-cases.ts';

/**
 * A file's upgrade cases, each deployed one turn ahead of its test instead of all at set-up: the machine then
 * carries the running case and the next one (their databases and writing applications), not every case of the
 * file for the whole file, which slowed every file beside it. A deploy that failed fails its own case's test.
 */
export class CaseQueue {
  private readonly deploys = new Map<Deployed, Promise<void>>();
  private readonly cp: ControlPlane;
  private readonly cases: Deployed[];
  private readonly password: string;
  private readonly ahead: number;

  constructor(cp: ControlPlane, cases: Deployed[], password: string, ahead = 1) {
    this.cp = cp;
    this.cases = cases;
    this.password = password;
    this.ahead = ahead;
  }

  /** Deploys `c` once (the namespace, the database and its application, seeded and fingerprinted). */
  private deploy(c: Deployed): Promise<void> {
    let p = this.deploys.get(c);
    if (!p) {
      p = deployCase(this.cp, c, this.password);
      p.catch(() => {}); // its rejection belongs to its own test, which awaits it
      this.deploys.set(c, p);
    }
    return p;
  }

  /** `c`'s turn: the cases after it start deploying, and this returns once `c` is ready. */
  async turn(c: Deployed): Promise<Deployed> {
    const i = this.cases.indexOf(c);
    for (const next of this.cases.slice(i + 1, i + 1 + this.ahead)) void this.deploy(next);
    await this.deploy(c);
    return c;
  }

  /** Removes `c`'s namespace (verifyUpgraded does it after a pass; this is for the cases that end otherwise). */
  async done(c: Deployed): Promise<void> {
    await releaseNamespaces(this.cp, [c.ns]);
  }
}
