// Public declarations of moontrain: the hand-written core (tensors, ops, io, runtime) and the
// declarations tsc generates from lib/nn and lib/optim (built into dist/types by \`npm run prepare\`).
export * from './core';
/** The Moonlight model and its parts. */
export * as nn from '../dist/types/lib/nn/index';
/** Muon, AdamW, schedules and clipping. */
export * as optim from '../dist/types/lib/optim/index';
/** The data pipeline: Brown corpus, byte-level BPE, token files, deterministic batches. */
export * as data from '../dist/types/lib/data/index';
/** The training loop, checkpoints, metrics. */
export * as train from '../dist/types/lib/train/index';
/** Ranks as processes, shared-memory collectives, ZeRO-1 with Distributed Muon. */
export * as parallel from '../dist/types/lib/parallel/index';
