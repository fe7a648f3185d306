// The MLflow reporter against a loopback server that answers as MLflow's REST API does: a run
// created, its parameters, every scalar at its step, the run finished; a failing server reported
// by close(). Runs where the `mlflow` npm package is installed (it is optional), skipped otherwise.
import test from 'ava';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { mlflowReporter, parseReportTo, rowScalars } from '../../lib/train/report-to';

let mlflow: unknown = null;
try {
  mlflow = require('mlflow');
} catch {
  // optional: the tests below say they were skipped
}

async function withServer(status: number, body: (reqs: { url: string; body: any }[]) => Promise<void>) {
  const seen: { url: string; body: any }[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      seen.push({ url: req.url!, body: text ? JSON.parse(text) : null });
      res.statusCode = req.url!.endsWith('/runs/create') ? 200 : status;
      res.setHeader('content-type', 'application/json');
      res.end(req.url!.endsWith('/runs/create') ? JSON.stringify({ run: { info: { run_id: 'run-1' } } }) : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const saved = process.env.MLFLOW_TRACKING_URI;
  process.env.MLFLOW_TRACKING_URI = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await body(seen);
  } finally {
    process.env.MLFLOW_TRACKING_URI = saved;
    server.close();
  }
}

(mlflow ? test.serial : test.skip)('MLflow: run, parameters, every scalar at its step, finished', async (t) => {
  await withServer(200, async (seen) => {
    const r = await mlflowReporter({ default: mlflow }, { out: '/unused', config: { lr: 0.01, 'grad-accum': 2 } });
    r.log(0, { loss: 5.5, 'moe/layer1/load_cv': 0.25 });
    r.log(1, { loss: 5.25 });
    await r.close();
    t.deepEqual(seen.map((s) => s.url.replace(/^\/api\/[^/]+\/mlflow/, '')), ['/runs/create', '/runs/log-batch', '/runs/log-batch', '/runs/log-batch', '/runs/update']);
    t.deepEqual(seen[1]!.body.params, [{ key: 'lr', value: '0.01' }, { key: 'grad-accum', value: '2' }]);
    t.deepEqual(seen[2]!.body.metrics.map((m: any) => [m.key, m.value, m.step]), [['loss', 5.5, 0], ['moe/layer1/load_cv', 0.25, 0]]);
    t.deepEqual(seen[3]!.body.metrics.map((m: any) => [m.key, m.value, m.step]), [['loss', 5.25, 1]]);
    t.is(seen[4]!.body.status, 'FINISHED');
  });
});

(mlflow ? test.serial : test.skip)('MLflow: a failing server is reported by close(), training is not stopped', async (t) => {
  await withServer(500, async (seen) => {
    const r = await mlflowReporter({ default: mlflow }, { out: '/unused', config: {} });
    r.log(0, { loss: 1 });
    await t.throwsAsync(() => r.close(), { message: /500/ });
    t.is(seen[seen.length - 1]!.body.status, 'FAILED');
  });
});
if (!mlflow) test('MLflow reporter (skipped)', (t) => (t.log('skipped: the optional npm package mlflow is not installed'), t.pass()));

test('--report-to lists and row scalars', (t) => {
  t.deepEqual(parseReportTo(undefined), []);
  t.deepEqual(parseReportTo('none'), []);
  t.deepEqual(parseReportTo('tensorboard, wandb,tensorboard'), ['tensorboard', 'wandb']);
  t.throws(() => parseReportTo('tensorboard,'), { message: /got ''/ });
  t.deepEqual(rowScalars({ step: 3, loss: 2, lr: 0.1, tokens: 10, tokens_per_s: Number.NaN, val_loss: undefined }), { loss: 2, lr: 0.1, tokens: 10 });
});
