// train: the loop the CLI uses, checkpoints, metrics and progress.
export { Trainer } from './trainer';
export type { TrainerOptions, StopReason } from './trainer';
export type { Batch } from '../data/batcher';
export { saveCheckpoint, readTrainerState, loadOptimizerState, checkpointDir } from './checkpoint';
export type { TrainerState, OptimizerLike } from './checkpoint';
export { MetricsLog, lossSvg } from './metrics';
export type { StepMetrics } from './metrics';
export { Progress } from './progress';
