// moontrain tokenize INPUT... --out DIR: text or JSON-lines files into llm.c token shards,
// streamed (bounded memory whatever the corpus size).
import * as fs from 'fs';
import { BpeTokenizer, cachedBrownTokenizer } from '../data';
import { fromHfTokenizerJson } from '../data/hf-tokenizer-json';
import { TiktokenTokenizer } from '../data/tiktoken';
import { tokenizeCorpus, type CorpusTokenizer } from '../data/tokenize-corpus';
import { Flags, UsageError, parseFlags } from './args';
import { cacheDir } from './train';

export const tokenizeFlags: Flags = {
  out: { type: 'string', help: 'folder for the shards (train_000000.bin, ...; val_000000.bin first with --val-tokens)' },
  tokenizer: { type: 'string', help: "tokenizer.json, moontrain's BPE JSON or a tiktoken ranks file (default: the Brown BPE of --vocab-size)" },
  'vocab-size': { type: 'int', min: 256, default: 2048, help: 'vocabulary of the default Brown tokenizer' },
  'json-field': { type: 'string', default: 'text', help: 'the text field of .jsonl / .json inputs (one JSON object per line)' },
  'shard-tokens': { type: 'int', min: 1, default: 100_000_000, help: 'tokens per shard' },
  'val-tokens': { type: 'int', min: 0, default: 0, help: 'the first N tokens go to val_000000.bin' },
  'cache-dir': { type: 'string', help: 'tokenizer cache (default ~/.cache/moontrain)' },
};

/** Splits argv into the input files and the flags (a flag's value is never taken for an input). */
function inputsAndFlags(argv: string[]): { inputs: string[]; flags: string[] } {
  const inputs: string[] = [], flags: string[] = [];
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) inputs.push(arg);
    else {
      flags.push(arg);
      const name = arg.replace(/^--?/, '');
      if (!arg.includes('=') && tokenizeFlags[name] && tokenizeFlags[name]!.type !== 'bool' && i + 1 < argv.length) flags.push(argv[++i]!);
    }
  }
  return { inputs, flags };
}

function loadTokenizer(file: string): CorpusTokenizer {
  if (!fs.existsSync(file)) throw new UsageError(`moontrain tokenize: --tokenizer ${file}: no such file`);
  if (!file.endsWith('.json')) return TiktokenTokenizer.load(file);
  const text = fs.readFileSync(file, 'utf8');
  return /"model"\s*:/.test(text) ? fromHfTokenizerJson(text, file) : BpeTokenizer.load(file);
}

export async function tokenizeCommand(argv: string[]): Promise<number> {
  const { inputs, flags } = inputsAndFlags(argv);
  const a = parseFlags(flags, tokenizeFlags, 'tokenize');
  if (inputs.length === 0) throw new UsageError('moontrain tokenize: expected one or more input files (text, or .jsonl), got none');
  if (a.out === undefined) throw new UsageError('moontrain tokenize: --out DIR is required');
  for (const f of inputs) if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new UsageError(`moontrain tokenize: ${f}: not a file`);
  const out = a.out as string;
  if (fs.existsSync(out) && fs.readdirSync(out).some((f) => /^(train|val)_\d{6}\.bin$/.test(f)))
    throw new UsageError(`moontrain tokenize: ${out} already holds token shards; choose another --out or remove them`);
  const tokenizer = a.tokenizer ? loadTokenizer(a.tokenizer as string) : cachedBrownTokenizer(cacheDir(a), a['vocab-size'] as number);
  let last = 0;
  const r = await tokenizeCorpus(inputs, {
    out, tokenizer, endOfText: tokenizer instanceof BpeTokenizer ? tokenizer.endOfTextId : undefined, jsonField: a['json-field'] as string, shardTokens: a['shard-tokens'] as number, valTokens: a['val-tokens'] as number,
    progress: (n) => {
      if (n - last >= 10_000_000) process.stderr.write(`tokenize: ${(n / 1e6).toFixed(0)}M tokens\n`), (last = n);
    },
  });
  process.stderr.write(`tokenize: ${r.tokens} tokens (${r.version === 1 ? 'uint16' : 'uint32'}) into ${r.val.length + r.train.length} shards in ${out}\n`);
  return 0;
}
