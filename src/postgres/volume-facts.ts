/** What the data volume says of itself (VOLUME_SCRIPT) and of the stopped cluster on it (pg_controldata), parsed. */

/** The data volume as the database container sees it (VOLUME_SCRIPT), parsed. */
export interface VolumeFacts {
  uid: number;
  gid: number;
  pgVersion?: string;
  data: { uid: number; gid: number; mode: string };
  parent: { uid: number; gid: number; mode: string };
  availBytes: number;
  fsBytes: number;
  availInodes: number;
  dataBytes: number;
  /** What the directory above PGDATA holds: on a volume shared with others (hostPath, local-path), the volume's use. */
  parentBytes: number;
  dataFiles: number;
  fsType: string;
  /** Whether `cp --reflink=always` works there; undefined when not asked. */
  reflink?: boolean;
  parentEntries: string[];
  insideData: string[];
}
/** Parses VOLUME_SCRIPT's `key value` lines. */
export function parseVolumeFacts(out: string): VolumeFacts {
  const one = new Map<string, string>();
  const many: Record<string, string[]> = { entry: [], inside: [] };
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line : line.slice(0, sp);
    const value = sp < 0 ? '' : line.slice(sp + 1).trim();
    if (key in many) many[key]?.push(value);
    else if (key) one.set(key, value);
  }
  const owner = (k: string) => {
    const [uid, gid, mode] = (one.get(k) ?? '').split(' ');
    if (mode === undefined)
      throw new Error(`cannot stat the ${k === 'data' ? 'data directory' : 'directory above it'}`);
    return { uid: Number(uid), gid: Number(gid), mode };
  };
  const df = (one.get('df') ?? '').split(/\s+/);
  const dfi = (one.get('dfi') ?? '').split(/\s+/);
  const [uid, gid] = (one.get('id') ?? '').split(' ');
  return {
    uid: Number(uid),
    gid: Number(gid),
    pgVersion: one.get('pg_version') || undefined,
    data: owner('data'),
    parent: owner('parent'),
    fsBytes: Number(df[1]) * 1024,
    availBytes: Number(df[3]) * 1024,
    availInodes: Number(dfi[3]),
    dataBytes: Number(one.get('du') ?? 0) * 1024,
    parentBytes: Number(one.get('du_parent') ?? 0) * 1024,
    dataFiles: Number(one.get('files') ?? 0),
    fsType: one.get('fstype') ?? 'unknown',
    reflink: one.has('reflink') ? one.get('reflink') === 'yes' : undefined,
    parentEntries: many.entry ?? [],
    insideData: many.inside ?? [],
  };
}

/** What pg_controldata says about a stopped cluster. */
export interface ControlData {
  state: string;
  cleanShutdown: boolean;
  catalogVersion: string;
  checksums: boolean;
  walSegmentBytes: number;
  systemIdentifier: string;
  checkpointLocation: string;
}

/** Parses `LC_ALL=C pg_controldata` output. */
export function parseControlData(out: string): ControlData {
  const field = (label: string) => new RegExp(`^${label}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim();
  const state = field('Database cluster state');
  if (state === undefined) throw new Error(`pg_controldata printed no cluster state: ${out.slice(0, 200)}`);
  return {
    state,
    cleanShutdown: state === 'shut down',
    catalogVersion: field('Catalog version number') ?? '',
    checksums: Number(field('Data page checksum version') ?? 0) > 0,
    walSegmentBytes: Number(field('Bytes per WAL segment') ?? 0),
    systemIdentifier: field('Database system identifier') ?? '',
    checkpointLocation: field('Latest checkpoint location') ?? '',
  };
}
