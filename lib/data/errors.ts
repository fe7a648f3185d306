// The Errors of the data pipeline, in moontrain's style: an invalid argument names the function,
// the argument, what was expected and what came; a bad file names the function and the file.
import { describe, invalid } from '../errors';

export { describe, INVALID_ARGUMENT, invalid } from '../errors';
export type { InvalidArgumentError } from '../errors';

/** A data file (token file, text file, tokenizer JSON) that cannot be used as it is. */
export const BAD_DATA_FILE = 'ERR_MOONTRAIN_BAD_DATA_FILE';

export type BadDataFileError = Error & { code: typeof BAD_DATA_FILE; op: string; file: string };

/** `<op>: <file>: <what>`. */
export function badFile(op: string, file: string, what: string, cause?: unknown): BadDataFileError {
  const e = new Error(`${op}: ${file}: ${what}`, cause === undefined ? undefined : { cause });
  return Object.assign(e, { code: BAD_DATA_FILE, op, file } as const);
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
