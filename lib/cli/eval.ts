// moontrain eval --checkpoint DIR [--split val|test]: loss and perplexity per token and per word.
import { evalBatches } from '../data';
import { Flags, parseFlags, UsageError } from './args';
import { openRun } from './checkpoint-run';

export const evalFlags: Flags = {
  checkpoint: { type: 'string', help: 'run directory (or its checkpoint/)' },
  'cache-dir': { type: 'string', help: 'token cache (default: none; the tokenizer comes from the checkpoint)' },
  split: { type: 'string', choices: ['val', 'test'], default: 'val', help: 'which held-out split' },
  'batch-size': { type: 'int', min: 1, help: 'sequences per forward (default: the run\'s)' },
  json: { type: 'bool', help: 'print JSON' },
};

export function evalCommand(argv: string[]): number {
  const a = parseFlags(argv, evalFlags, 'eval');
  if (!a.checkpoint) throw new UsageError('moontrain eval: --checkpoint DIR is required');
  const run = openRun(a.checkpoint as string, a['cache-dir'] as string | undefined, 'eval');
  const { args, model } = run;
  let data;
  try {
    data = run.data();
  } catch (e) {
    model.dispose();
    throw e;
  }
  const split = a.split as 'val' | 'test';
  const S = args['seq-len'] as number, B = (a['batch-size'] as number | undefined) ?? (args['batch-size'] as number);
  const tokens = data[split];
  let sum = 0, count = 0;
  for (const b of evalBatches(tokens, { batchSize: B, seqLen: S })) {
    const loss = model.loss(b.ids, b.targets, [b.ids.length / S, S], { backward: false });
    sum += loss * model.lastStats.tokens;
    count += model.lastStats.tokens;
  }
  model.dispose();
  const words = data.words[split] * (count / Math.max(1, tokens.length - 1));
  const r = { split, tokens: count, loss: sum / count, perplexity_per_token: Math.exp(sum / count), words: Math.round(words), perplexity_per_word: Math.exp(sum / words) };
  if (a.json) console.log(JSON.stringify(r, null, 2));
  else console.log(`${split}: ${count.toLocaleString('en-US')} tokens (~${r.words.toLocaleString('en-US')} words), loss ${r.loss.toFixed(4)}, perplexity ${r.perplexity_per_token.toFixed(2)} per token, ${r.perplexity_per_word.toFixed(2)} per word`);
  return 0;
}
