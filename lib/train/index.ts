// train: the loop the CLI uses, checkpoints, metrics and progress.
export { Trainer } from './trainer';
export type { TrainerOptions, StopReason } from './trainer';
export type { Batch } from '../data/batcher';
export { saveCheckpoint, readTrainerState, loadOptimizerState, checkpointDir } from './checkpoint';
export type { TrainerState, OptimizerLike, SaveOptions } from './checkpoint';
export { latestCheckpoint, listCheckpoints, resolveRun } from './checkpoint-layout';
export { MetricsLog, lossSvg } from './metrics';
export type { StepMetrics } from './metrics';
export { Progress } from './progress';
export { expertLoadMetrics, expertLoadSummary } from './moe-metrics';
export { TensorBoardWriter } from './tensorboard';
