// moontrain's invalid-argument Error, shared by the TypeScript layers: it names the function, the
// argument, what was expected and what came.
export const INVALID_ARGUMENT = 'ERR_MOONTRAIN_INVALID_ARGUMENT';

export type InvalidArgumentError = Error & { code: typeof INVALID_ARGUMENT; op: string; argument: string };

/** `<op>: argument '<argument>': expected <expected>, got <got>`. */
export function invalid(op: string, argument: string, expected: string, got: string): InvalidArgumentError {
  const e = new Error(`${op}: argument '${argument}': expected ${expected}, got ${got}`);
  return Object.assign(e, { code: INVALID_ARGUMENT, op, argument } as const);
}

/** A short description of a value for "got ..." (the type, and the value when it is short). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${(v as unknown as { length?: number }).length ?? v.byteLength} elements`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
