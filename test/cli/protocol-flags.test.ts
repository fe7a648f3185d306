// The flags the Muon-vs-AdamW protocol needs: AdamW betas, WSD with a decay fraction and a
// warm-up fraction, and the evaluation on the whole validation split.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseBetas, parseEvalPlan, warmupSteps } from '../../lib/cli/train';
import { UsageError } from '../../lib/cli/args';
import { writeMicroRun } from '../helpers/micro-run';

const root = path.join(__dirname, '..', '..');
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), ...args], { cwd: root, encoding: 'utf8' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-protocol-'));
const { config: micro, data } = writeMicroRun(tmp);
const common = ['--config', micro, '--data', data, '--batch-size', '4', '--seq-len', '16', '--lr', '0.01', '--steps', '8', '--eval-every', '8', '--optimizer', 'adamw'];
const rows = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('flag parsing: betas, warm-up fraction, eval plan; bad values say what was expected', (t) => {
  t.deepEqual(parseBetas('0.8, 0.99'), [0.8, 0.99]);
  for (const bad of ['0.9', '0.9,1', 'a,b', '0.9,0.95,0.9', '-0.1,0.9', '0.9,']) t.throws(() => parseBetas(bad), { instanceOf: UsageError, message: /--adam-betas: expected two numbers in \[0, 1\)/ }, bad);
  t.is(warmupSteps({ steps: 320, warmup: 100, 'warmup-fraction': 0.1 }), 32);
  t.is(warmupSteps({ steps: 320, warmup: 100 }), 100);
  t.throws(() => warmupSteps({ steps: 10, warmup: 0, 'warmup-fraction': 1.5 }), { message: /--warmup-fraction: expected a number in \[0, 1\]/ });
  t.deepEqual(parseEvalPlan({ 'eval-batches': 'all' }, 128), { batches: Infinity, context: 64 });
  t.deepEqual(parseEvalPlan({ 'eval-batches': 'all' }, 16), { batches: Infinity, context: 8 });
  t.deepEqual(parseEvalPlan({ 'eval-batches': '40', 'eval-context': 64 }, 128), { batches: 40, context: 64 });
  t.deepEqual(parseEvalPlan({ 'eval-batches': 16 }, 128), { batches: 16, context: 0 }, 'a number from an older checkpoint');
  t.throws(() => parseEvalPlan({ 'eval-batches': 'some' }, 128), { message: /--eval-batches: expected an integer >= 1 or 'all', got 'some'/ });
  t.throws(() => parseEvalPlan({ 'eval-batches': 'all', 'eval-context': 128 }, 128), { message: /--eval-context 128: expected less than --seq-len 128/ });
});

test('wsd with warm-up and decay fractions: the lr of every step; betas reach the optimizer; eval all', (t) => {
  const a = path.join(tmp, 'a'), b = path.join(tmp, 'b'), c = path.join(tmp, 'c');
  const wsd = ['--schedule', 'wsd', '--warmup-fraction', '0.25', '--decay-fraction', '0.5'];
  const r1 = cli(['train', ...common, ...wsd, '--adam-betas', '0.9,0.95', '--eval-batches', 'all', '--out', a]);
  t.is(r1.status, 0, r1.stderr);
  // 8 steps: warm-up 2 (0.005, 0.01), plateau 2, linear decay to 0 over the last 4.
  t.deepEqual(rows(a).map((r) => +r.lr.toFixed(6)), [0.005, 0.01, 0.01, 0.01, 0.01, 0.0075, 0.005, 0.0025]);
  const r2 = cli(['train', ...common, ...wsd, '--adam-betas', '0.5,0.6', '--eval-batches', '1', '--out', b]);
  t.is(r2.status, 0, r2.stderr);
  t.is(rows(a)[0].loss, rows(b)[0].loss, 'same start');
  t.not(rows(a)[3].loss, rows(b)[3].loss, 'other betas, other updates');
  t.not(rows(a)[7].val_loss, rows(b)[7].val_loss, 'whole split vs one batch');
  t.is(JSON.parse(fs.readFileSync(path.join(b, 'checkpoint', 'trainer.json'), 'utf8')).args['adam-betas'], '0.5,0.6');
  const bad = cli(['train', ...common, '--adam-betas', '0.9', '--out', c]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--adam-betas: expected two numbers/);
  t.false(fs.existsSync(c), 'nothing is written for a bad flag');
});

test('--tokenizer word: the model is sized to the word vocabulary; eval gives perplexity per word token; BPE runs add bits per byte', (t) => {
  const text = path.join(tmp, 'words.txt');
  const vocab = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', '.', ','];
  fs.writeFileSync(text, Array.from({ length: 6000 }, (_, i) => (i % 97 === 0 ? `once${i}` : vocab[(i * 7 + (i >> 3)) % vocab.length])).join(' ') + '\n');
  const w = path.join(tmp, 'word'), b = path.join(tmp, 'bpe');
  const flags = ['--config', micro, '--data', text, '--batch-size', '4', '--seq-len', '16', '--steps', '4', '--eval-every', '4', '--eval-batches', '2', '--warmup', '1'];
  const r = cli(['train', ...flags, '--tokenizer', 'word', '--out', w]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /vocabulary 13\b/);
  t.is(JSON.parse(fs.readFileSync(path.join(w, 'checkpoint', 'config.json'), 'utf8')).vocab_size, 13, '12 words and <unk>');
  const ev = cli(['eval', '--checkpoint', w, '--context', '8', '--json']);
  t.is(ev.status, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  t.is(e.tokens, 600 - 8, 'every validation word from the 8th on');
  t.true(Math.abs(e.perplexity_per_token - Math.exp(e.loss)) < 1e-9 * e.perplexity_per_token);
  t.false('bits_per_byte' in e);
  t.is(cli(['train', ...flags, '--out', b]).status, 0);
  const eb = JSON.parse(cli(['eval', '--checkpoint', b, '--json']).stdout);
  // bits per byte = nats per token x tokens / (ln 2 x bytes), the bytes being the scored share of the split's
  const valBytes = Buffer.byteLength(fs.readFileSync(text, 'utf8').trim().split(' ').slice(5400).join(' ') + '\n');
  t.true(eb.bytes <= valBytes && eb.bytes > 0.8 * valBytes, `${eb.bytes} of ${valBytes}`);
  t.true(Math.abs(eb.bits_per_byte - (eb.loss * eb.tokens) / Math.LN2 / eb.bytes) < 1e-3 * eb.bits_per_byte);
  const bad = cli(['eval', '--checkpoint', w, '--context', '16']);
  t.regex(bad.stderr, /--context 16: expected less than the run's seq-len 16/);
});
