// moontrain sample --checkpoint DIR --prompt "..." [--tokens N] [--temperature T] [--seed S]
import { Rng } from '../nn/init';
import { Flags, parseFlags, UsageError } from './args';
import { openRun } from './checkpoint-run';

export const sampleFlags: Flags = {
  checkpoint: { type: 'string', help: 'run directory (or its checkpoint/), or a Hugging Face folder (config.json, model.safetensors, tokenizer.json)' },
  'cache-dir': { type: 'string', help: 'tokenizer cache, for runs whose checkpoint has no tokenizer.json (default: the run\'s)' },
  prompt: { type: 'string', default: 'The', help: 'text to continue' },
  tokens: { type: 'int', min: 1, default: 100, help: 'tokens to generate' },
  temperature: { type: 'number', min: 0, default: 0.8, help: 'softmax temperature (0: greedy)' },
  'top-k': { type: 'int', min: 0, default: 40, help: 'sample among the k most likely (0: all)' },
  seed: { type: 'int', min: 0, default: 1, help: 'sampling seed' },
};

/** Picks a token from logits with temperature and top-k, using a seeded generator. */
export function pickToken(logits: Float32Array, temperature: number, topK: number, rng: Rng): number {
  let order = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]);
  if (temperature === 0) return order[0];
  if (topK > 0) order = order.slice(0, topK);
  const max = logits[order[0]];
  const w = order.map((i) => Math.exp((logits[i] - max) / temperature));
  let u = rng.uniform() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < order.length; ++i) if ((u -= w[i]) <= 0) return order[i];
  return order[order.length - 1];
}

/** Ids the tokenizer does not have (a model vocabulary larger than it) are never sampled. */
export function maskBeyond(logits: Float32Array, vocabSize: number): Float32Array {
  logits.fill(-Infinity, Math.min(vocabSize, logits.length));
  return logits;
}

export function sampleCommand(argv: string[]): number {
  const a = parseFlags(argv, sampleFlags, 'sample');
  if (!a.checkpoint) throw new UsageError('moontrain sample: --checkpoint DIR is required');
  const run = openRun(a.checkpoint as string, a['cache-dir'] as string | undefined, 'sample', { data: 'brown', batchSize: 1 });
  const { args, model } = run;
  // A BPE run carries its tokenizer; a word run's vocabulary is rebuilt from its (fingerprinted) data.
  let tokenizer: { vocabSize: number; encode(text: string): Int32Array; decode(ids: ArrayLike<number>): string } | undefined = run.tokenizer;
  if (!tokenizer && (!run.state.data_fingerprint || args.tokenizer === 'word')) {
    try {
      tokenizer = run.data().tokenizer;
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  if (!tokenizer) {
    model.dispose();
    throw new UsageError('moontrain sample: this run trained on token ids without a tokenizer; nothing to decode');
  }
  const S = args['seq-len'] as number;
  const rng = new Rng(a.seed as number);
  const ids = Array.from(tokenizer.encode(a.prompt as string));
  if (ids.length === 0) throw new UsageError('moontrain sample: --prompt must not be empty');
  const start = ids.length;
  for (let i = 0; i < (a.tokens as number); ++i) {
    const context = Int32Array.from(ids.slice(-S));
    ids.push(pickToken(maskBeyond(model.nextTokenLogits(context), tokenizer.vocabSize), a.temperature as number, a['top-k'] as number, rng));
  }
  model.dispose();
  process.stdout.write(a.prompt + tokenizer.decode(Int32Array.from(ids.slice(start))) + '\n');
  return 0;
}
