import type { ValueSource } from './credentials.ts';

/**
 * The kubelet's dependent-variable expansion of an `env` entry's `value` (k8s.io/kubernetes
 * third_party/forked/golang/expansion): `$$` is a literal `$`, `$(NAME)` is the value NAME had when this entry was
 * reached (an earlier `env` entry of that name, else envFrom), and a reference it cannot resolve stays as written.
 * `valueFrom` values are never expanded. Pure: what a reference names is settled by the caller.
 */

/** One piece of a value: literal text, or a reference to another variable. */
export type Piece = { text: string } | { ref: string };

/** Splits a value into literal text and `$(NAME)` references, exactly as the kubelet reads it. */
export function expansionPieces(input: string): Piece[] {
  const out: Piece[] = [];
  let text = '';
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) {
      text += input[i];
      continue;
    }
    const next = input[i + 1];
    const close = next === '(' ? input.indexOf(')', i + 2) : -1;
    if (next === '$') text += '$';
    else if (close >= 0) {
      if (text) out.push({ text });
      text = '';
      out.push({ ref: input.slice(i + 2, close) });
      i = close - 1;
    } else text += `$${next}`;
    i += 1;
  }
  if (text) out.push({ text });
  return out;
}

/** True when the kubelet would change this value at all (a `$$` or a `$(…)` in it). */
export function expands(input: string): boolean {
  return /\$(\$|\([^)]*\))/.test(input);
}

/** A reference's name in messages, as written. */
const written = (name: string) => `$(${name})`;

/**
 * The sources of env entry `name`, whose value is `value` with references in it: `resolve` gives the sources of a
 * referenced variable as the kubelet had it at this entry. A value that is one reference takes that variable's
 * sources; one made only of text and plain values is that text; anything else cannot be read as the kubelet
 * would and is refused, saying why and what to do.
 */
export function expandedSources(name: string, value: string, resolve: (ref: string) => ValueSource[]): ValueSource[] {
  const pieces = expansionPieces(value);
  const refs = pieces.flatMap((p) => ('ref' in p ? [p.ref] : []));
  const unset = refs.find((r) => !resolve(r).length);
  if (unset !== undefined) {
    return [
      {
        kind: 'refused',
        via:
          `env ${name} refers to ${written(unset)}, which neither an env entry above it nor envFrom sets, so the kubelet leaves ` +
          `the reference as written and that text is the value: define ${unset} in an env entry above ${name} (or take ${name} from its Secret with ` +
          'valueFrom.secretKeyRef), or pass --superuser-secret <secret>/<key>',
      },
    ];
  }
  const [only] = pieces;
  if (pieces.length === 1 && only && 'ref' in only)
    return resolve(only.ref).map((s) => ({ ...s, via: `env ${name}=${written(only.ref)}, that is ${s.via}` }));
  const parts = pieces.map((p) =>
    'ref' in p ? resolve(p.ref)[0] : { kind: 'value' as const, value: p.text, via: '' },
  );
  if (parts.every((s) => s?.kind === 'value')) {
    return [
      {
        kind: 'value',
        value: parts.map((s) => (s?.kind === 'value' ? s.value : '')).join(''),
        via: `env ${name}${refs.length ? ` (with ${refs.map(written).join(', ')} expanded)` : ''}`,
      },
    ];
  }
  return [
    {
      kind: 'refused',
      via:
        `env ${name} joins text and ${refs.map(written).join(', ')} into one value, which is not read from one Secret key: ` +
        `give ${name} one whole reference or valueFrom.secretKeyRef, or pass --superuser-secret <secret>/<key>`,
    },
  ];
}
