import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The pod network: one Linux bridge with no address on the host side, so pod traffic never leaves it. */
export interface PodNetworkConfig {
  bridge: string;
  /** The first three octets of the /24 that pod IPs come from, e.g. "10.244.7". */
  prefix: string;
}

/** One pod's network namespace and address. */
export interface PodNetwork {
  netns: string;
  netnsPath: string;
  ip: string;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    throw new Error(`ip ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

/**
 * Gives each pod its own network namespace (its own 127.0.0.1), a veth into the agent's bridge and an IP from
 * the agent's /24. The bridge has no host address and pods get no default route: pods reach each other and
 * nothing else.
 */
export class PodNetworks {
  private readonly cfg: PodNetworkConfig;
  private readonly used = new Set<number>();
  private ready?: Promise<void>;

  constructor(cfg: PodNetworkConfig) {
    this.cfg = cfg;
  }

  private ensureBridge(): Promise<void> {
    this.ready ??= (async () => {
      if (!fs.existsSync(`/sys/class/net/${this.cfg.bridge}`))
        await ip('link', 'add', this.cfg.bridge, 'type', 'bridge');
      await ip('link', 'set', this.cfg.bridge, 'up');
    })();
    return this.ready;
  }

  /** Creates the namespace for a pod; `id` must be short and unique (a few hex chars of the pod UID). */
  async create(id: string): Promise<PodNetwork> {
    await this.ensureBridge();
    const n = this.allocate();
    const netns = `pgu-${id}`;
    const host = `pgh${id}`.slice(0, 15);
    const peer = `pgp${id}`.slice(0, 15);
    await this.destroyNames(netns, host);
    await ip('netns', 'add', netns);
    await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    await ip('link', 'set', peer, 'netns', netns);
    await ip('link', 'set', host, 'master', this.cfg.bridge, 'up');
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', netns, 'link', 'set', peer, 'name', 'eth0');
    await ip('-n', netns, 'addr', 'add', `${this.cfg.prefix}.${n}/24`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'eth0', 'up');
    return { netns, netnsPath: `/run/netns/${netns}`, ip: `${this.cfg.prefix}.${n}` };
  }

  /** Removes a pod's namespace (its veth goes with it) and frees its IP. */
  async destroy(net: PodNetwork, id: string): Promise<void> {
    this.used.delete(Number(net.ip.split('.').pop()));
    await this.destroyNames(net.netns, `pgh${id}`.slice(0, 15));
  }

  /** Removes the bridge; called when the agent stops. */
  async close(): Promise<void> {
    if (fs.existsSync(`/sys/class/net/${this.cfg.bridge}`)) await ip('link', 'del', this.cfg.bridge).catch(() => {});
  }

  private async destroyNames(netns: string, hostVeth: string): Promise<void> {
    if (fs.existsSync(`/run/netns/${netns}`)) await ip('netns', 'del', netns).catch(() => {});
    if (fs.existsSync(`/sys/class/net/${hostVeth}`)) await ip('link', 'del', hostVeth).catch(() => {});
  }

  private allocate(): number {
    for (let n = 2; n < 255; n++) {
      if (!this.used.has(n)) {
        this.used.add(n);
        return n;
      }
    }
    throw new Error(`pod network ${this.cfg.prefix}.0/24 is full`);
  }
}

/** A hosts file body: one line per address with its names. */
export function hostsFileText(entries: Array<{ ip: string; names: string[] }>): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const e of entries) if (e.names.length) lines.push(`${e.ip}\t${e.names.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Rewrites a file in place (same inode), because a bind mount of it into a pod follows the inode. */
export function rewriteInPlace(file: string, text: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT);
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, text, 0);
  } finally {
    fs.closeSync(fd);
  }
}
