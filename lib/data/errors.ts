// The Errors of the data pipeline, in moontrain's style: an invalid argument names the function,
// the argument, what was expected and what came; a bad file names the function and the file.
export const INVALID_ARGUMENT = 'ERR_MOONTRAIN_INVALID_ARGUMENT';
/** A data file (token file, text file, tokenizer JSON) that cannot be used as it is. */
export const BAD_DATA_FILE = 'ERR_MOONTRAIN_BAD_DATA_FILE';

export type InvalidArgumentError = Error & { code: typeof INVALID_ARGUMENT; op: string; argument: string };
export type BadDataFileError = Error & { code: typeof BAD_DATA_FILE; op: string; file: string };

/** `<op>: argument '<argument>': expected <expected>, got <got>`. */
export function invalid(op: string, argument: string, expected: string, got: string): InvalidArgumentError {
  const e = new Error(`${op}: argument '${argument}': expected ${expected}, got ${got}`);
  return Object.assign(e, { code: INVALID_ARGUMENT, op, argument } as const);
}

/** `<op>: <file>: <what>`. */
export function badFile(op: string, file: string, what: string, cause?: unknown): BadDataFileError {
  const e = new Error(`${op}: ${file}: ${what}`, cause === undefined ? undefined : { cause });
  return Object.assign(e, { code: BAD_DATA_FILE, op, file } as const);
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

/** Checks an integer argument in [min, max]; returns it. */
export function checkInt(op: string, argument: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw invalid(op, argument, range, describe(v));
  }
  return v;
}

/** Checks a path argument (a non-empty string); returns it. */
export function checkPath(op: string, argument: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw invalid(op, argument, 'a file path (a non-empty string)', describe(v));
  return v;
}
