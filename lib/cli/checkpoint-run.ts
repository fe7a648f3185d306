// Reopens what a training run used: its model, its settings and (for eval) its data, tokenized
// with the tokenizer the checkpoint carries. Given a run folder or one of its checkpoint folders.
// Nothing outside the checkpoint is read or written, but for eval the data file the run recorded
// (checked against its fingerprint) and the cache named by --cache-dir.
// A plain Hugging Face folder (config.json, weights, tokenizer.json; no trainer.json) opens too:
// its model in the precision of its torch_dtype, its tokenizer, and for eval the data, sequence
// length and batch size the command gives (PlainFolderOptions).
import { loadDataset, prepareDataset } from '../data';
import { checkDataFile, checkFingerprint, type DataFingerprint } from '../data/fingerprint';
import { type Parsed, UsageError } from './args';
import { loadCheckpointModel, loadCheckpointTokenizer, openCheckpoint } from './resume';
import { cacheDir } from './train';
import { detectDataFormat } from '../data/token-files';
import type { TrainerState } from '../train/checkpoint';
import { isPlainHfFolder, openHfFolder, tokenizerNeeded } from './hf-folder';

export interface PlainFolderOptions {
  /** 'brown' or a text or token file. */
  data: string;
  /** Tokens per sequence (default: the config's max_position_embeddings, else 4096). */
  seqLen?: number;
  batchSize: number;
}

export function openRun(dir: string, cache: string | undefined, command: 'eval' | 'sample', plain: PlainFolderOptions) {
  if (isPlainHfFolder(dir)) return openPlainFolder(dir, cache, command, plain);
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
  return { state, args, model, tokenizer: saved, data, checkpoint, plain: false };
}

function openPlainFolder(dir: string, cache: string | undefined, command: 'eval' | 'sample', o: PlainFolderOptions) {
  const what = `moontrain ${command}: --checkpoint`;
  const folder = openHfFolder(dir, what);
  const tokenizer = folder.tokenizer;
  if (!tokenizer && command === 'sample') throw tokenizerNeeded(what, dir, 'to read the prompt and write the text');
  const needsTokenizer = o.data === 'brown' || (checkDataFile(o.data, command), detectDataFormat(o.data) === 'text');
  if (!tokenizer && needsTokenizer) throw tokenizerNeeded(what, dir, `to tokenize ${o.data}`);
  if (tokenizer && tokenizer.vocabSize > folder.config.vocab_size)
    throw new UsageError(`${what} ${dir}: its tokenizer.json has ${tokenizer.vocabSize} ids, more than config.json's vocab_size ${folder.config.vocab_size}`);
  const model = loadCheckpointModel(dir, folder.precision);
  const seqLen = o.seqLen ?? folder.config.max_position_embeddings ?? 4096;
  const args: Parsed = { 'seq-len': seqLen, 'batch-size': o.batchSize, precision: folder.precision, data: o.data, tokenizer: 'bpe' };
  const state: TrainerState = { step: 0, tokens: 0, seed: 0 };
  const data = () => prepareDataset({ data: o.data, vocabSize: tokenizer?.vocabSize ?? model.config.vocab_size, tokenizer, cacheDir: cache });
  return { state, args, model, tokenizer, data, checkpoint: dir, plain: true };
}
