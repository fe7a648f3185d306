// The environment variables moontrain reads, checked before any work: a value the native side
// would ignore (MOONTRAIN_NUM_THREADS=abc, MOONTRAIN_ISA=bogus) is one clear line instead.
const ISAS = ['scalar', 'avx2', 'avx512', 'avx512bf16', 'amx'];

function invalidEnv(name: string, expected: string, got: string): Error {
  return Object.assign(new Error(`moontrain: ${name}: expected ${expected}, got '${got}'`), { code: 'ERR_MOONTRAIN_INVALID_ENV' });
}

export function checkEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const threads = env.MOONTRAIN_NUM_THREADS;
  if (threads !== undefined && threads !== '' && !(/^\d+$/.test(threads) && Number(threads) >= 1 && Number(threads) <= 1024)) {
    throw invalidEnv('MOONTRAIN_NUM_THREADS', 'an integer in [1, 1024] (threads for native work)', threads);
  }
  const isa = env.MOONTRAIN_ISA;
  if (isa !== undefined && isa !== '' && !ISAS.includes(isa)) throw invalidEnv('MOONTRAIN_ISA', `one of ${ISAS.join(', ')}`, isa);
}
