// bench/check: `kubectl pgupgrade check` on the healthy Bitnami-shaped fixture (the demo's), repeated, alternating
// with `kubectl get pods` against the same apiserver as a yardstick for machine noise. Prints the medians, the
// ratio, and the goal (check at most 3 s). A live check starts no container. Then the same database stopped: check
// through its probe pod, alternating with the start-up alone of a pod of the probe's image, reported separately.
// Usage: node bench/check.ts [runs]   (starts or reuses the test environment, like npm run demo)
import { spawnSync } from 'node:child_process';
import { DEMO_FROM, DEMO_NS, DEMO_POD, DEMO_STS, DEMO_TO, ensureDemoDatabase } from '../scripts/lib/demo-db.ts';

const runs = Number(process.argv[2] ?? 15);
const { kubectl, bin, env } = await ensureDemoDatabase();

function timeOnce(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const check: number[] = [];
const yardstick: number[] = [];
const checkArgs = ['check', '-n', DEMO_NS, '--to', String(DEMO_TO), '-o', 'json'];
timeOnce(bin, checkArgs);
for (let i = 0; i < runs; i++) {
  check.push(timeOnce(bin, checkArgs));
  yardstick.push(timeOnce(kubectl, ['-n', DEMO_NS, 'get', 'pods']));
}
const m = median(check);
console.log(`runs: ${runs} each, alternating`);
console.log(
  `kubectl pgupgrade check  median ${m.toFixed(0)} ms (min ${Math.min(...check).toFixed(0)}, max ${Math.max(...check).toFixed(0)})`,
);
console.log(`kubectl get pods         median ${median(yardstick).toFixed(0)} ms`);
console.log(`ratio ${(m / median(yardstick)).toFixed(1)}; goal: check <= 3000 ms ${m <= 3000 ? 'ok' : 'OVER GOAL'}`);

const ns = ['-n', DEMO_NS];
const k = (args: string[]) => {
  const r = spawnSync(kubectl, [...ns, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
};
const offlineRuns = Math.max(3, Math.floor(runs / 3));
k(['scale', `sts/${DEMO_STS}`, '--replicas=0']);
k(['wait', '--for=delete', `pod/${DEMO_POD}`, '--timeout=60s']);
const offline: number[] = [];
const startup: number[] = [];
try {
  for (let i = 0; i < offlineRuns; i++) {
    offline.push(timeOnce(bin, checkArgs));
    const pod = `bench-probe-start-${i}`;
    startup.push(
      timeOnce(kubectl, [
        ...ns,
        'run',
        pod,
        `--image=tianon/postgres-upgrade:${DEMO_FROM}-to-${DEMO_TO}`,
        '--restart=Never',
        '--overrides',
        JSON.stringify({
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: pod,
                image: `tianon/postgres-upgrade:${DEMO_FROM}-to-${DEMO_TO}`,
                command: ['sleep', '60'],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        }),
        '--command',
        '--',
        'sleep',
        '60',
      ]) + timeOnce(kubectl, [...ns, 'wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=60s']),
    );
    k(['delete', 'pod', pod, '--grace-period=0', '--wait=false']);
  }
} finally {
  k(['scale', `sts/${DEMO_STS}`, '--replicas=1']);
}
console.log(
  `stopped database: check with its probe pod median ${median(offline).toFixed(0)} ms over ${offlineRuns} runs; ` +
    `of which a probe-image pod's start-up alone, median ${median(startup).toFixed(0)} ms`,
);
