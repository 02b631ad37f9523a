import { ApiError, type KubeObject, type KubeRest, type WatchEvent } from './rest.ts';

/** Called for every change the informer sees, after its cache is updated. */
export type InformerHandler<T> = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;

/** ns/name, or name for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/**
 * A list-then-watch cache of one resource, as client-go's informer does it: it relists on 410 Gone and
 * reconnects when the apiserver ends a watch, so that a restart of the apiserver is survived.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly items = new Map<string, T>();
  private readonly rest: KubeRest;
  private readonly path: string;
  private readonly handler: InformerHandler<T>;
  private stopped = false;
  private current?: import('node:http').IncomingMessage;

  constructor(rest: KubeRest, path: string, handler: InformerHandler<T>) {
    this.rest = rest;
    this.path = path;
    this.handler = handler;
  }

  /** Lists once (resolving when the cache is filled), then keeps watching in the background. */
  async start(): Promise<void> {
    const rv = await this.relist();
    void this.loop(rv);
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }

  private async relist(): Promise<string> {
    const list = await this.rest.get<{ items: T[]; metadata: { resourceVersion: string } }>(this.path);
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.items.get(key);
      this.items.set(key, item);
      if (!old) this.handler('ADDED', item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.handler('MODIFIED', item);
    }
    for (const [key, old] of this.items) {
      if (!seen.has(key)) {
        this.items.delete(key);
        this.handler('DELETED', old);
      }
    }
    return list.metadata.resourceVersion;
  }

  private async loop(startRv: string): Promise<void> {
    let rv = startRv;
    while (!this.stopped) {
      try {
        rv = await this.watchOnce(rv);
      } catch (err) {
        if (this.stopped) return;
        // A relist recovers from every watch failure, 410 Gone included; a failed relist is retried next turn.
        void err;
        await new Promise((r) => setTimeout(r, 500));
        rv = await this.relist().catch(() => rv);
      }
    }
  }

  private async watchOnce(rv: string): Promise<string> {
    const sep = this.path.includes('?') ? '&' : '?';
    const res = await this.rest.raw(
      'GET',
      `${this.path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=240`,
    );
    this.current = res;
    if ((res.statusCode ?? 0) >= 400) {
      res.resume();
      throw new ApiError(res.statusCode ?? 0, '', `watch ${this.path}: ${res.statusCode}`);
    }
    let buf = '';
    let last = rv;
    res.setEncoding('utf8');
    for await (const chunk of res) {
      buf += chunk as string;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === '') continue;
        last = this.apply(JSON.parse(line) as WatchEvent<T>, last);
      }
    }
    return last;
  }

  private apply(ev: WatchEvent<T>, last: string): string {
    if (ev.type === 'ERROR') {
      const status = ev.object as unknown as { code?: number; message?: string };
      throw new ApiError(status.code ?? 500, '', `watch ${this.path}: ${status.message ?? 'error'}`);
    }
    const rv = ev.object.metadata.resourceVersion ?? last;
    if (ev.type === 'BOOKMARK') return rv;
    const key = keyOf(ev.object);
    if (ev.type === 'DELETED') this.items.delete(key);
    else this.items.set(key, ev.object);
    this.handler(ev.type, ev.object);
    return rv;
  }
}
