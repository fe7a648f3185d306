// `moontrain tokenize`: text or JSON-lines files streamed through a tokenizer into llm.c token
// shards, in bounded memory. JSON-lines documents are separated by the end-of-text token when the
// tokenizer has one; the first `valTokens` tokens go to val_000000.bin, the rest to train shards.
import * as path from 'path';
import { TokenShardWriter } from './shard-writer';
import { jsonLinesField, textPieces } from './text-stream';

export interface CorpusTokenizer {
  readonly vocabSize: number;
  encode(text: string): Int32Array;
}

export interface TokenizeCorpusOptions {
  out: string;
  tokenizer: CorpusTokenizer;
  /** Read inputs ending in .jsonl / .json as JSON lines and take this field (default 'text'). */
  jsonField?: string;
  /** Tokens per train shard (default 100M, as llm.c's FineWeb shards). */
  shardTokens?: number;
  /** Tokens of the validation shard, taken first (default 0: none). */
  valTokens?: number;
  /** Written before each JSON-lines document. */
  endOfText?: number;
  /** Characters of plain text encoded at a time (default 1M). */
  pieceChars?: number;
  /** Called after each piece with the tokens written so far. */
  progress?: (tokens: number) => void;
}

export interface TokenizeCorpusResult {
  train: string[];
  val: string[];
  tokens: number;
  /** 1: uint16 tokens, 2: uint32. */
  version: 1 | 2;
}

export async function tokenizeCorpus(inputs: string[], o: TokenizeCorpusOptions): Promise<TokenizeCorpusResult> {
  const valTokens = o.valTokens ?? 0;
  const val = valTokens > 0 ? new TokenShardWriter(o.out, { shardTokens: valTokens, vocabSize: o.tokenizer.vocabSize, prefix: 'val' }) : null;
  const train = new TokenShardWriter(o.out, { shardTokens: o.shardTokens ?? 100_000_000, vocabSize: o.tokenizer.vocabSize, prefix: 'train' });
  let written = 0;
  const write = (ids: ArrayLike<number>) => {
    let from = 0;
    if (val && val.tokens < valTokens) {
      from = Math.min(ids.length, valTokens - val.tokens);
      val.write(Array.prototype.slice.call(ids, 0, from) as number[]);
    }
    if (from < ids.length) train.write(from === 0 ? ids : (ids as Int32Array).subarray(from));
    written += ids.length;
  };
  for (const input of inputs) {
    const jsonLines = /\.jsonl?$/.test(path.basename(input));
    const pieces = jsonLines ? jsonLinesField(input, o.jsonField ?? 'text') : textPieces(input, o.pieceChars);
    for await (const piece of pieces) {
      if (jsonLines && o.endOfText !== undefined) write([o.endOfText]);
      write(o.tokenizer.encode(piece));
      o.progress?.(written);
    }
  }
  return { val: val?.finish() ?? [], train: train.finish(), tokens: written, version: train.version };
}
