// Memory of `moontrain tokenize` over a large generated input (the Brown training text repeated):
// RSS after a full garbage collection at each tenth of the input, which stays flat when nothing
// grows with the corpus. `node --expose-gc --import tsx bench/tokenize-memory.ts [--mb 1024] [--json FILE]`.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, brownSplits } from '../lib/data';
import { tokenizeCorpus } from '../lib/data/tokenize-corpus';

export interface TokenizeMemory {
  inputBytes: number;
  tokens: number;
  seconds: number;
  /** [fraction of the input done, RSS in bytes after gc()] */
  rss: [number, number][];
}

export async function tokenizeMemory(mb: number, shardTokens = 10_000_000): Promise<TokenizeMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('tokenize-memory: run node with --expose-gc');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-tokenize-'));
  try {
    const brown = brownSplits();
    const tokenizer = BpeTokenizer.train(brown.val.slice(0, 300_000), { vocabSize: 2048 });
    const file = path.join(dir, 'input.txt');
    const fd = fs.openSync(file, 'w');
    for (let written = 0; written < mb * 1e6; written += Buffer.byteLength(brown.train)) fs.writeSync(fd, brown.train);
    fs.closeSync(fd);
    const inputBytes = fs.statSync(file).size;
    const rss: [number, number][] = [];
    let next = 0;
    const started = Date.now();
    const r = await tokenizeCorpus([file], {
      out: path.join(dir, 'shards'), tokenizer, shardTokens,
      progress: (tokens) => {
        // Brown's BPE gives about 0.32 tokens per byte here; sample at each tenth of the expected total.
        if (tokens < next) return;
        gc();
        rss.push([Math.min(1, tokens / (inputBytes * 0.324)), process.memoryUsage.rss()]);
        next += inputBytes * 0.0324;
      },
    });
    return { inputBytes, tokens: r.tokens, seconds: (Date.now() - started) / 1000, rss };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const arg = (name: string) => (process.argv.indexOf(name) > 0 ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  void tokenizeMemory(Number(arg('--mb') ?? 1024)).then((r) => {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    console.log(`${(r.inputBytes / 1e6).toFixed(0)} MB -> ${r.tokens} tokens in ${r.seconds.toFixed(0)} s; RSS after gc: ${r.rss.map(([f, b]) => `${(f * 100).toFixed(0)}%: ${mib(b)}`).join(', ')}`);
    const json = arg('--json');
    if (json) fs.writeFileSync(json, `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), host: os.cpus()[0]?.model, ...r }, null, 2)}\n`);
  });
}
