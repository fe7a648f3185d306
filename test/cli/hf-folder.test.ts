// Plain Hugging Face folders on the command line: a checkpoint stripped to config.json,
// model.safetensors (or shards with an index) and tokenizer.json is evaluated and sampled as its
// run is, `train --init-from` continues from its weights with a fresh optimizer and its tokenizer,
// a folder without tokenizer.json is one line, and checkpoints from before the end-of-text token
// still evaluate, sample and resume.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { BpeTokenizer } from '../../lib/data/bpe';
import { fromHfTokenizerJson, toHfTokenizerJson } from '../../lib/data/hf-tokenizer-json';
import { loadSafetensors, saveSafetensors } from '../../lib/io/safetensors';
import { tensor } from '../../lib/tensor';
import { cli, metricRows, microSetup } from '../helpers/cli-run';
import { writeStoryRun } from '../helpers/micro-run';

const { tmp } = microSetup('mt-hf-folder-');
const { story, bigVocab } = writeStoryRun(tmp);
const shape = ['--batch-size', '4', '--seq-len', '16'];
const args = [...shape, '--eval-every', '4', '--eval-batches', '2', '--warmup', '2', '--cache-dir', path.join(tmp, 'cache')];
const run = path.join(tmp, 'run');
const trained = cli(['train', '--config', bigVocab, ...args, '--data', story, '--steps', '4', '--out', run]);
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

/** The checkpoint's Hugging Face files only (no trainer.json, no optimizer state). */
function plainCopy(name: string, files = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of files) fs.copyFileSync(path.join(run, 'checkpoint', f), path.join(dir, f));
  return dir;
}

/** Splits model.safetensors into two shards and an index, as Hugging Face writes big models. */
function shard(dir: string): void {
  const { tensors } = loadSafetensors(path.join(dir, 'model.safetensors'));
  const names = [...tensors.keys()];
  const weightMap: Record<string, string> = {};
  [names.slice(0, names.length >> 1), names.slice(names.length >> 1)].forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    saveSafetensors(path.join(dir, file), new Map(part.map((n) => [n, tensors.get(n)!])));
    for (const n of part) weightMap[n] = file;
  });
  for (const x of tensors.values()) x.dispose();
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  fs.rmSync(path.join(dir, 'model.safetensors'));
}

const tensorBytes = (file: string) => {
  const { tensors } = loadSafetensors(file);
  const out = new Map([...tensors].map(([n, x]) => [n, Buffer.from(x.toFloat32Array().buffer).toString('base64')]));
  for (const x of tensors.values()) x.dispose();
  return out;
};

test('a run saves the end-of-text token: last id, bos and eos of config.json and generation_config.json, special in tokenizer.json', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const ck = path.join(run, 'checkpoint');
  const config = readJson(path.join(ck, 'config.json'));
  const eot = config.vocab_size - 1;
  t.deepEqual([config.bos_token_id, config.eos_token_id], [eot, eot]);
  t.deepEqual([readJson(path.join(ck, 'generation_config.json')).bos_token_id, readJson(path.join(ck, 'generation_config.json')).eos_token_id], [eot, eot]);
  t.deepEqual(readJson(path.join(ck, 'tokenizer.json')).added_tokens.map((a: { id: number; content: string; special: boolean }) => [a.id, a.content, a.special]), [[eot, '<|endoftext|>', true]]);
  const tc = readJson(path.join(ck, 'tokenizer_config.json'));
  t.deepEqual([tc.bos_token, tc.eos_token], ['<|endoftext|>', '<|endoftext|>']);
});

test('eval and sample on a plain Hugging Face folder (and a sharded one) give what they give on the run', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const plain = plainCopy('plain');
  const fromRun = cli(['eval', '--checkpoint', run, '--json']);
  t.is(fromRun.status, 0, fromRun.stderr);
  const fromPlain = cli(['eval', '--checkpoint', plain, '--data', story, ...shape, '--json']);
  t.is(fromPlain.status, 0, fromPlain.stderr);
  t.is(JSON.parse(fromPlain.stdout).loss, JSON.parse(fromRun.stdout).loss);
  const sampleArgs = ['--prompt', 'the cat', '--tokens', '8', '--seed', '5'];
  const s1 = cli(['sample', '--checkpoint', run, ...sampleArgs]), s2 = cli(['sample', '--checkpoint', plain, ...sampleArgs]);
  t.is(s2.status, 0, s2.stderr);
  t.is(s2.stdout, s1.stdout);
  shard(plain);
  const sharded = cli(['eval', '--checkpoint', plain, '--data', story, ...shape, '--json']);
  t.is(sharded.status, 0, sharded.stderr);
  t.is(JSON.parse(sharded.stdout).loss, JSON.parse(fromRun.stdout).loss);
  const refused = cli(['eval', '--checkpoint', run, '--data', story]);
  t.is(refused.status, 2);
  t.regex(refused.stderr, /--data and --seq-len are for a Hugging Face folder/);
});

test('train --init-from a plain folder: its weights (lr 0 keeps them exactly), a fresh optimizer, its tokenizer files; resumable', (t) => {
  t.is(trained.status, 0, trained.stderr);
  for (const sharded of [false, true]) {
    const plain = plainCopy(sharded ? 'init-sharded' : 'init-plain');
    if (sharded) shard(plain);
    const out = path.join(tmp, sharded ? 'from-sharded' : 'from-plain');
    const r = cli(['train', '--init-from', plain, ...args, '--data', story, '--steps', '2', '--lr', '0', '--out', out]);
    t.is(r.status, 0, r.stderr);
    const ck = path.join(out, 'checkpoint');
    const got = tensorBytes(path.join(ck, 'model.safetensors')), want = tensorBytes(path.join(run, 'checkpoint', 'model.safetensors'));
    t.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    // (the routers' load-balancing biases move whatever the lr: DeepSeek-V3's bias update)
    t.deepEqual([...got].filter(([n, v]) => want.get(n) !== v && !n.endsWith('e_score_correction_bias')).map(([n]) => n), [], 'the folder\'s weights');
    t.is(readJson(path.join(ck, 'trainer.json')).step, 2, 'counted from 0: a fresh run');
    t.is(fs.readFileSync(path.join(ck, 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(plain, 'tokenizer.json'), 'utf8'));
    t.is(readJson(path.join(ck, 'config.json')).eos_token_id, readJson(path.join(plain, 'config.json')).eos_token_id);
    const more = cli(['train', '--resume', out, '--steps', '3', '--lr', '0.01']);
    t.is(more.status, 0, more.stderr);
    t.is(readJson(path.join(ck, 'trainer.json')).step, 3);
  }
  const both = cli(['train', '--init-from', run, '--resume', run]);
  t.is(both.status, 2);
  t.regex(both.stderr, /--resume and --init-from cannot be combined/);
  const withConfig = cli(['train', '--init-from', path.join(tmp, 'init-plain'), '--config', 'tiny', '--out', path.join(tmp, 'nope')]);
  t.is(withConfig.status, 2);
  t.regex(withConfig.stderr, /drop --config/);
});

test('a folder whose tokenizer.json has its own ids: eval, sample and train --init-from tokenize with them', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const plain = plainCopy('foreign', ['config.json', 'model.safetensors']);
  // The run's tokenizer with its ids reversed, and the embedding and head rows reversed to match:
  // the same model, spelt with other ids.
  const own = fromHfTokenizerJson(fs.readFileSync(path.join(run, 'checkpoint', 'tokenizer.json'), 'utf8'), 'own');
  const V = own.vocabSize;
  const flip = (id: number) => V - 1 - id;
  const foreign = BpeTokenizer.fromParts({
    byteIds: own.byteTokenIds.map(flip),
    merges: own.mergeIds.map(([a, b, x]) => [flip(a), flip(b), flip(x)]),
    added: own.addedTokens.map((a) => ({ ...a, id: flip(a.id) })),
  });
  fs.writeFileSync(path.join(plain, 'tokenizer.json'), toHfTokenizerJson(foreign));
  const text = fs.readFileSync(story, 'utf8');
  t.deepEqual(Array.from(foreign.encode(text), flip), Array.from(own.encode(text)), 'the reversed ids of the run\'s tokens');
  const weights = path.join(plain, 'model.safetensors');
  const { tensors } = loadSafetensors(weights);
  for (const name of ['model.embed_tokens.weight', 'lm_head.weight']) {
    const x = tensors.get(name)!, [rows, cols] = x.shape as [number, number], a = x.toFloat32Array(), b = new Float32Array(a.length);
    for (let r = 0; r < rows; r++) b.set(a.subarray(r * cols, (r + 1) * cols), flip(r) * cols);
    tensors.set(name, tensor(b, [rows, cols], { dtype: x.dtype }));
    x.dispose();
  }
  saveSafetensors(weights, tensors);
  for (const x of tensors.values()) x.dispose();
  const fromRun = cli(['eval', '--checkpoint', run, '--json']);
  const e = cli(['eval', '--checkpoint', plain, '--data', story, ...shape, '--json']);
  t.is(e.status, 0, e.stderr);
  const close = (a: string, b: string) => Math.abs(JSON.parse(a).loss - JSON.parse(b).loss) < 1e-6 * JSON.parse(b).loss;
  t.true(close(e.stdout, fromRun.stdout), `${e.stdout} ${fromRun.stdout}`);
  const greedy = ['--prompt', 'the cat', '--tokens', '8', '--temperature', '0'];
  t.is(cli(['sample', '--checkpoint', plain, ...greedy]).stdout, cli(['sample', '--checkpoint', run, ...greedy]).stdout);
  // Training from it sees the same batches, spelt with its ids: the same first loss as from the run's own folder.
  const losses = [plain, plainCopy('foreign-reference')].map((from) => {
    const out = path.join(tmp, `from-${path.basename(from)}`);
    const r = cli(['train', '--init-from', from, ...args, '--data', story, '--steps', '1', '--out', out]);
    t.is(r.status, 0, r.stderr);
    return metricRows(out)[0]!.loss!;
  });
  t.true(Math.abs(losses[0]! - losses[1]!) < 1e-5 * losses[1]!, `${losses}`);
});

test('a folder without tokenizer.json: one line saying that one is needed', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const bare = plainCopy('bare', ['config.json', 'model.safetensors']);
  for (const r of [
    cli(['train', '--init-from', bare, ...args, '--data', story, '--out', path.join(tmp, 'bare-run')]),
    cli(['sample', '--checkpoint', bare, '--prompt', 'the']),
    cli(['eval', '--checkpoint', bare, '--data', story]),
  ]) {
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, /bare: no tokenizer\.json there; a tokenizer\.json \(Hugging Face tokenizers format, byte-level BPE\) is needed/);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  t.false(fs.existsSync(path.join(tmp, 'bare-run')), 'nothing written');
  const none = cli(['train', '--init-from', path.join(tmp, 'nowhere'), '--data', story]);
  t.is(none.status, 2);
  t.regex(none.stderr, /--init-from .*nowhere: not a folder/);
});

test('a checkpoint from before the end-of-text token (tokenizer.json without it, no bos/eos) evaluates, samples and resumes', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const old = path.join(tmp, 'old-run');
  fs.cpSync(run, old, { recursive: true, verbatimSymlinks: true });
  const ck = fs.realpathSync(path.join(old, 'checkpoint'));
  const own = fromHfTokenizerJson(fs.readFileSync(path.join(ck, 'tokenizer.json'), 'utf8'), 'own');
  const before = BpeTokenizer.fromJSON({ type: 'byte-bpe', version: 1, vocabSize: 256 + own.merges.length, merges: own.merges });
  fs.writeFileSync(path.join(ck, 'tokenizer.json'), toHfTokenizerJson(before));
  fs.writeFileSync(path.join(ck, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false, model_max_length: 16 }));
  const config = readJson(path.join(ck, 'config.json'));
  fs.writeFileSync(path.join(ck, 'config.json'), JSON.stringify({ ...config, bos_token_id: null, eos_token_id: null }));
  const e = cli(['eval', '--checkpoint', old, '--json']);
  t.is(e.status, 0, e.stderr);
  const s = cli(['sample', '--checkpoint', old, '--prompt', 'the cat', '--tokens', '5']);
  t.is(s.status, 0, s.stderr);
  const r = cli(['train', '--resume', old, '--steps', '6']);
  t.is(r.status, 0, r.stderr);
  const next = fs.realpathSync(path.join(old, 'checkpoint'));
  t.not(next, ck);
  t.deepEqual(readJson(path.join(next, 'tokenizer.json')).added_tokens, [], 'still without the token');
});
