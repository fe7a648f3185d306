// moontrain eval --checkpoint DIR [--split val|test]: loss and perplexity per token and per word.
import { evalBatches, loadDataset } from '../data';
import { checkDataFile } from '../data/fingerprint';
import { BpeTokenizer } from '../data/bpe';
import { stridedEvalBatches } from '../data/strided-eval';
import { Flags, parseFlags, UsageError } from './args';
import { openRun } from './checkpoint-run';

export const evalFlags: Flags = {
  checkpoint: { type: 'string', help: 'run directory (or its checkpoint/), or a Hugging Face folder (config.json, model.safetensors, tokenizer.json)' },
  data: { type: 'string', help: "a Hugging Face folder's data: 'brown' (default) or a text or token file (a run uses its own)" },
  'seq-len': { type: 'int', min: 2, help: "a Hugging Face folder's tokens per sequence (default 128; a run uses its own)" },
  'cache-dir': { type: 'string', help: 'token cache (default: none; the tokenizer comes from the checkpoint)' },
  split: { type: 'string', choices: ['val', 'test'], default: 'val', help: 'which held-out split' },
  'batch-size': { type: 'int', min: 1, help: 'sequences per forward (default: the run\'s)' },
  context: { type: 'int', min: 0, default: 0, help: 'every scored token has this much context, at least (overlapping windows; 0: disjoint windows)' },
  'val-data': { type: 'string', help: "evaluate on these llm.c shards (a quoted glob or one file) instead of the run's split" },
  json: { type: 'bool', help: 'print JSON' },
};

export function evalCommand(argv: string[]): number {
  const a = parseFlags(argv, evalFlags, 'eval');
  if (!a.checkpoint) throw new UsageError('moontrain eval: --checkpoint DIR is required');
  const plain = { data: (a.data as string | undefined) ?? 'brown', seqLen: (a['seq-len'] as number | undefined) ?? 128, batchSize: (a['batch-size'] as number | undefined) ?? 8 };
  const run = openRun(a.checkpoint as string, a['cache-dir'] as string | undefined, 'eval', plain);
  if (!run.plain && (a.data !== undefined || a['seq-len'] !== undefined)) {
    run.model.dispose();
    throw new UsageError("moontrain eval: --data and --seq-len are for a Hugging Face folder; a run is evaluated on its own data and sequence length");
  }
  const { args, model } = run;
  const other = a['val-data'] as string | undefined;
  if (other !== undefined && a.split !== 'val') throw new UsageError('moontrain eval: --val-data replaces the val split; drop --split test');
  let data;
  try {
    if (other !== undefined) checkDataFile(other, 'eval', '--val-data');
    data = other === undefined ? run.data() : loadDataset({ data: other, valData: other, vocabSize: model.config.vocab_size });
  } catch (e) {
    model.dispose();
    throw e;
  }
  const split = a.split as 'val' | 'test';
  const S = args['seq-len'] as number, B = (a['batch-size'] as number | undefined) ?? (args['batch-size'] as number);
  const tokens = data[split];
  let sum = 0, count = 0;
  const context = a.context as number;
  if (context >= S) throw new UsageError(`moontrain eval: --context ${context}: expected less than the run's seq-len ${S}`);
  const windows = context > 0 ? stridedEvalBatches(tokens, { batchSize: B, seqLen: S, minContext: context }) : evalBatches(tokens, { batchSize: B, seqLen: S });
  for (const b of windows) {
    const loss = model.loss(b.ids, b.targets, [b.ids.length / S, S], { backward: false });
    sum += loss * model.lastStats.tokens;
    count += model.lastStats.tokens;
  }
  model.dispose();
  const words = data.words[split] * (count / Math.max(1, tokens.length - 1));
  const r: Record<string, unknown> = { split, tokens: count, loss: sum / count, perplexity_per_token: Math.exp(sum / count), words: Math.round(words), perplexity_per_word: Math.exp(sum / words) };
  // Bits per byte (BPE only: a word model's <unk> merges words, so its bytes are not comparable).
  const bytes = data.bytes && data.tokenizer instanceof BpeTokenizer ? data.bytes[split] * (count / Math.max(1, tokens.length - 1)) : undefined;
  if (bytes) {
    r.bytes = Math.round(bytes);
    r.bits_per_byte = sum / bytes / Math.LN2;
  }
  if (a.json) console.log(JSON.stringify(r, null, 2));
  else console.log(`${split}: ${count.toLocaleString('en-US')} tokens (~${(r.words as number).toLocaleString('en-US')} words), loss ${(r.loss as number).toFixed(4)}, perplexity ${(r.perplexity_per_token as number).toFixed(2)} per token, ${(r.perplexity_per_word as number).toFixed(2)} per word${bytes ? `, ${(r.bits_per_byte as number).toFixed(4)} bits per byte` : ''}`);
  return 0;
}
