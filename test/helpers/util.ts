// Shared helpers for the op tests: building random tensors, reading them back, and asserting
// moontrain's invalid-argument errors.
import type { ExecutionContext } from 'ava';
import { tensor, Tensor } from '../../lib';
import type { TestDevice } from './devices';
import { fmt, randn, relFrobError, Rng, numel, allFinite } from './ref';

export type DType = 'f32' | 'bf16';
export const DTYPES: DType[] = ['f32', 'bf16'];

/** Relative Frobenius tolerance of the GEMM family for each dtype (vs fp64 from rounded inputs). */
export const GEMM_TOL: Record<DType, number> = { f32: 1e-5, bf16: 1e-2 };
/** Relative Frobenius tolerance of Newton-Schulz for each dtype (vs fp64 NS from rounded inputs). */
export const NS_TOL: Record<DType, number> = { f32: 1e-5, bf16: 5e-2 };

export interface Made {
  t: Tensor;
  /** The values the tensor actually holds (read back with toFloat32Array), as float64. */
  v: Float64Array;
}

/** A tensor of standard normal values (times scale) on `device`, and the values it holds after rounding. */
export function randTensor(rng: Rng, shape: number[], dtype: DType, scale = 1, device: TestDevice = 'cpu'): Made {
  const data = randn(rng, numel(shape), scale);
  const t = tensor(data, shape, { dtype, device });
  return { t, v: Float64Array.from(t.toFloat32Array()) };
}

/** A tensor from fixed values on `device`, and the values it holds after rounding. */
export function fromValues(values: ArrayLike<number>, shape: number[], dtype: DType, device: TestDevice = 'cpu'): Made {
  const t = tensor(Float32Array.from(values), shape, { dtype, device });
  return { t, v: Float64Array.from(t.toFloat32Array()) };
}

/** Read a tensor back as float64. */
export function read(t: Tensor): Float64Array {
  return Float64Array.from(t.toFloat32Array());
}

export const INVALID = 'ERR_MOONTRAIN_INVALID_ARGUMENT';

/** Escape a string for use in a RegExp. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether e is a moontrain invalid-argument error. */
export function isInvalidArgError(e: unknown): e is Error & { code: string; op: string; argument: string } {
  return e instanceof Error && (e as any).code === INVALID;
}

/**
 * Assert that fn throws moontrain's invalid-argument Error: an Error instance whose message
 * reads `<op>: argument '<argument>': expected <what>, got <what came>`, with the properties
 * op, argument and code. `argument` may be a list of acceptable names (for a mismatch between
 * two operands either may be blamed) or omitted (then it is only required to be a non-empty
 * string that appears in the message).
 */
export function assertInvalidArg(
  t: ExecutionContext,
  fn: () => unknown,
  op: string,
  argument?: string | string[],
  message?: RegExp,
  label = '',
): void {
  const accepted = argument === undefined ? undefined : Array.isArray(argument) ? argument : [argument];
  const where = label ? `${label}: ` : '';
  let err: unknown;
  let result: unknown;
  let threw = false;
  try {
    result = fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  if (!threw) {
    if (result instanceof Tensor) result.dispose();
    t.fail(`${where}expected ${op} to throw an invalid-argument error for '${accepted?.join("' or '") ?? '?'}', but it returned`);
    return;
  }
  if (!(err instanceof Error)) {
    t.fail(`${where}expected an Error instance, got ${typeof err}: ${String(err)}`);
    return;
  }
  const e = err as Error & { code?: unknown; op?: unknown; argument?: unknown };
  t.is(e.code, INVALID, `${where}code (message: ${e.message})`);
  t.is(e.op, op, `${where}op (message: ${e.message})`);
  if (accepted !== undefined) {
    t.true(
      accepted.includes(e.argument as string),
      `${where}argument: expected '${accepted.join("' or '")}', got ${JSON.stringify(e.argument)} (message: ${e.message})`,
    );
  } else {
    t.true(typeof e.argument === 'string' && e.argument.length > 0, `${where}argument is a non-empty string`);
  }
  const arg = typeof e.argument === 'string' ? e.argument : accepted?.[0] ?? '';
  const shape = new RegExp(`^${reEscape(op)}: argument '${reEscape(arg)}': expected .+, got .+$`, 's');
  t.regex(e.message, shape, `${where}message shape`);
  if (message) t.regex(e.message, message, `${where}message content`);
}

/** Assert a tensor's shape and dtype (and its device, when given). */
export function assertMeta(t: ExecutionContext, out: Tensor, shape: number[], dtype: DType, label: string, device?: TestDevice): void {
  t.deepEqual(out.shape, shape, `${label}: output shape`);
  t.is(out.dtype, dtype, `${label}: output dtype`);
  if (device) t.is(out.device, device, `${label}: output device`);
}

/** Assert relative Frobenius error <= tol, with the measured value in the message. */
export function assertClose(
  t: ExecutionContext,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: number,
  label: string,
): void {
  t.is(got.length, ref.length, `${label}: element count`);
  t.true(allFinite(got), `${label}: output has non-finite values`);
  const err = relFrobError(got, ref);
  t.true(err <= tol, `${label}: relative Frobenius error ${fmt(err)} > ${fmt(tol)}`);
}

/**
 * Why memory measurements mean nothing in this process, or null: under AddressSanitizer (the CI's
 * sanitizer run preloads libasan) freed memory sits in quarantine and RSS only grows.
 */
export function rssUnmeasurable(): string | null {
  return process.env.LD_PRELOAD?.includes('libasan') ? 'under AddressSanitizer freed memory stays in quarantine: RSS bounds do not apply' : null;
}
