// Reopens what a training run used: its model, its settings and its data (with the tokenizer).
import { prepareDataset } from '../data';
import { MoonlightModel } from '../nn/model';
import { checkpointDir, readTrainerState } from '../train/checkpoint';
import type { Parsed } from './args';
import { cacheDir } from './train';

export function openRun(dir: string, cache?: string) {
  const state = readTrainerState(dir);
  const args = state.args as Parsed;
  const model = MoonlightModel.load(checkpointDir(dir), { precision: (args.precision as 'bf16' | 'f32') ?? 'bf16' });
  const data = prepareDataset({ data: args.data as string, vocabSize: model.config.vocab_size, cacheDir: cache ?? cacheDir(args), tokenizer: args.tokenizer as 'bpe' | 'word' | undefined });
  return { state, args, model, data };
}
