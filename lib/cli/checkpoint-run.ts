// Reopens what a training run used: its model, its settings and (for eval) its data, tokenized
// with the tokenizer the checkpoint carries. Given a run folder or one of its checkpoint folders.
// Nothing outside the checkpoint is read or written, but for eval the data file the run recorded
// (checked against its fingerprint) and the cache named by --cache-dir.
import { loadDataset } from '../data';
import { checkFingerprint, type DataFingerprint } from '../data/fingerprint';
import type { Parsed } from './args';
import { loadCheckpointModel, loadCheckpointTokenizer, openCheckpoint } from './resume';
import { cacheDir } from './train';

export function openRun(dir: string, cache: string | undefined, command: 'eval' | 'sample') {
  const { checkpoint, state } = openCheckpoint(dir);
  const args = (state.args ?? {}) as Parsed;
  const saved = loadCheckpointTokenizer(checkpoint);
  const model = loadCheckpointModel(checkpoint, (args.precision as 'bf16' | 'f32') ?? 'bf16');
  const fingerprint = state.data_fingerprint as DataFingerprint | undefined;
  // A run from before checkpoints carried their tokenizer: its data and cache, as then.
  const tokenizerKind = (args.tokenizer as 'bpe' | 'word' | undefined) ?? 'bpe';
  const legacy = () => loadDataset({ data: args.data as string, vocabSize: model.config.vocab_size, cacheDir: cache ?? cacheDir(args), tokenizerKind });
  const valFingerprint = state.val_data_fingerprint as DataFingerprint | undefined;
  const data = () => {
    if (!fingerprint) return legacy();
    checkFingerprint(fingerprint, command);
    if (valFingerprint) checkFingerprint(valFingerprint, command);
    return loadDataset({ data: fingerprint.path, valData: valFingerprint?.path, vocabSize: saved?.vocabSize ?? model.config.vocab_size, tokenizer: saved, cacheDir: cache, tokenizerKind });
  };
  return { state, args, model, tokenizer: saved, data, checkpoint };
}
