/**
 * A validator for the subset of JSON Schema that docs/*.schema.json use: type (with null and integer), const,
 * enum, required, properties, additionalProperties: false, items. Returns the problems, empty when valid.
 */
type Schema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  items?: Schema;
};

const typeOf = (v: unknown): string[] => {
  if (v === null) return ['null'];
  if (Array.isArray(v)) return ['array'];
  if (typeof v === 'number') return Number.isInteger(v) ? ['number', 'integer'] : ['number'];
  return [typeof v];
};

export function validateSchema(schema: Schema, value: unknown, at = '$'): string[] {
  const errs: string[] = [];
  if (schema.const !== undefined && value !== schema.const)
    errs.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value))
    errs.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!typeOf(value).some((t) => allowed.includes(t)))
      return [...errs, `${at}: ${typeOf(value)[0]} is not ${allowed.join('|')}`];
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) errs.push(`${at}: missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) errs.push(...validateSchema(sub, v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${at}: unexpected property ${k}`);
    }
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((v, i) => errs.push(...validateSchema(schema.items as Schema, v, `${at}[${i}]`)));
  return errs;
}
