// A config too large for this machine ends with one line before anything is allocated: the
// training state per parameter is the weight and its gradient (2 bytes each in bf16, 4 in f32),
// an f32 master copy for bf16, and the optimizer's f32 buffers (Muon: momentum; AdamW: two
// moments), the optimizer part divided over ZeRO-1 ranks; all ranks share the host's memory.
import * as os from 'os';
import { countParameters, type MoonlightConfig } from '../nn/config';

export function trainingBytes(c: MoonlightConfig, precision: 'bf16' | 'f32', optimizer: 'muon' | 'adamw', ranks: number): number {
  const n = countParameters(c).total + countParameters(c).lmHead;
  const w = precision === 'bf16' ? 2 : 4;
  const perRank = n * (2 * w);
  const sharded = n * ((precision === 'bf16' ? 4 : 0) + (optimizer === 'adamw' ? 8 : 4));
  return perRank * ranks + sharded;
}

export function checkMemory(c: MoonlightConfig, precision: 'bf16' | 'f32', optimizer: 'muon' | 'adamw', ranks: number, config: string): void {
  const need = trainingBytes(c, precision, optimizer, ranks);
  const have = os.totalmem();
  if (need > have) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    throw Object.assign(
      new Error(`moontrain train: --config ${config} needs at least ${gib(need)} GiB for its weights, gradients and ${optimizer} state (${precision}${ranks > 1 ? `, ${ranks} ranks` : ''}); this machine has ${gib(have)} GiB`),
      { code: 'ERR_MOONTRAIN_OUT_OF_MEMORY' },
    );
  }
}
