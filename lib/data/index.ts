// The data pipeline: the Brown corpus, a byte-level BPE tokenizer, token and text files, and
// deterministic batches.
export { brownSplits, brownText, countWords, BROWN_TRAIN_WORDS, BROWN_VAL_WORDS, type BrownSplits, type SplitWords } from './brown';
export { BpeTokenizer, preTokenize, MAX_VOCAB, END_OF_TEXT, type AddedToken, type BpeJson, type BpeParts, type BpeTrainOptions } from './bpe';
export { fromHfTokenizerJson, toHfTokenizerJson, hfTokenizerConfigJson } from './hf-tokenizer-json';
export { cachedBrownTokenizer, brownTokens, type BrownTokens } from './brown-cache';
export {
  readTokenFile,
  readTextFile,
  writeLlmcTokenFile,
  detectDataFormat,
  LLMC_MAGIC,
  type TokenFile,
  type TokenFileFormat,
  type DataFormat,
  type ReadTokenFileOptions,
} from './token-files';
export { TokenBatcher, evalBatches, type Batch, type EvalBatches, type TokenBatcherOptions } from './batcher';
export { loadDataset, prepareDataset, type Dataset, type PrepareDatasetOptions } from './dataset';
export { expandGlob, ShardSet, type ShardSetOptions } from './shard-set';
export { tokenRange, type Tokens, type TokenSource } from './token-source';
export { BAD_DATA_FILE, INVALID_ARGUMENT, type BadDataFileError, type InvalidArgumentError } from './errors';
