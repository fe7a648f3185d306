// Where a run's scalars go besides metrics.jsonl (--report-to): TensorBoard event files written
// by moontrain, Weights & Biases (@wandb/sdk) and MLflow (the `mlflow` npm client). The two
// clients are optional: loaded only when asked for, and one line names the package to install
// when they are not there.
import type { StepMetrics } from './metrics';
import { TensorBoardWriter } from './tensorboard';

export const REPORT_TARGETS = ['tensorboard', 'wandb', 'mlflow'] as const;
export type ReportTarget = (typeof REPORT_TARGETS)[number];

/** The npm package each optional target needs. */
export const REPORT_PACKAGES: Record<Exclude<ReportTarget, 'tensorboard'>, string> = { wandb: '@wandb/sdk', mlflow: 'mlflow' };

export interface Reporter {
  log(step: number, scalars: Record<string, number>): void;
  close(): Promise<void>;
}

/** '--report-to a,b': the targets, each once; an unknown one is an error naming the choices. */
export function parseReportTo(value: string | undefined): ReportTarget[] {
  if (value === undefined || value === '' || value === 'none') return [];
  const names = value.split(',').map((s) => s.trim());
  for (const n of names)
    if (!(REPORT_TARGETS as readonly string[]).includes(n))
      throw new Error(`--report-to: expected a comma-separated list of ${REPORT_TARGETS.join(', ')} (or none), got '${n}'`);
  return [...new Set(names as ReportTarget[])];
}

/** The numbers of a metrics row as scalars (all but the step). */
export function rowScalars(row: StepMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (k !== 'step' && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** Imports an optional package; not installed: an error that names it. */
export async function importOptional(target: string, pkg: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pkg)) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const missing = (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') && String(err.message).includes(`'${pkg}'`);
    if (!missing) throw e;
    throw Object.assign(new Error(`--report-to ${target} needs the npm package ${pkg}, which is not installed: npm install ${pkg}`), { code: 'ERR_MOONTRAIN_MISSING_PACKAGE' });
  }
}

export interface ReportContext {
  /** The run folder (TensorBoard's event files go there). */
  out: string;
  /** The run's settings, given to W&B as config and to MLflow as parameters. */
  config: Record<string, unknown>;
}

/** Loads what the targets need (all packages first, so a missing one fails before anything starts). */
export async function loadReporters(targets: ReportTarget[]): Promise<(ctx: ReportContext) => Promise<Reporter[]>> {
  const modules = new Map<ReportTarget, Record<string, unknown>>();
  for (const t of targets) if (t !== 'tensorboard') modules.set(t, await importOptional(t, REPORT_PACKAGES[t]));
  return async (ctx) => {
    const out: Reporter[] = [];
    for (const t of targets) {
      if (t === 'tensorboard') out.push(tensorBoardReporter(ctx.out));
      else if (t === 'wandb') out.push(await wandbReporter(modules.get(t)!, ctx));
      else out.push(await mlflowReporter(modules.get(t)!, ctx));
    }
    return out;
  };
}

function tensorBoardReporter(dir: string): Reporter {
  const w = new TensorBoardWriter(dir);
  return { log: (step, s) => w.scalars(step, s), close: async () => w.close() };
}

interface WandbSdk {
  init(o: { project?: string; name?: string; config?: unknown; dir?: string }): Promise<unknown>;
  log(data: Record<string, unknown>, step?: number): void;
  finish(): Promise<void>;
}

/** W&B: the project from WANDB_PROJECT (default moontrain); credentials as the SDK reads them. */
export async function wandbReporter(mod: Record<string, unknown>, ctx: ReportContext): Promise<Reporter> {
  const sdk = (mod.default ?? mod) as WandbSdk;
  await sdk.init({ project: process.env.WANDB_PROJECT ?? 'moontrain', config: ctx.config, dir: ctx.out });
  return { log: (step, s) => sdk.log(s, step), close: () => sdk.finish() };
}

interface MlflowClient {
  Runs: {
    create(o: { experiment_id: string; user_id: string; start_time: number; tags?: unknown }): Promise<{ run: { info: { run_id: string } } }>;
    logBatch(o: { run_id: string; metrics?: { key: string; value: number; timestamp: number; step: number }[]; params?: { key: string; value: string }[] }): Promise<unknown>;
    update(o: { run_id: string; status: string; end_time: number }): Promise<unknown>;
  };
}

/** The mlflow client prints every request body with console.log (synchronously, before its first await): not on our stdout. */
function quiet<T>(request: () => T): T {
  const log = console.log;
  console.log = () => undefined;
  try {
    return request();
  } finally {
    console.log = log;
  }
}

/** MLflow: the server from MLFLOW_TRACKING_URI (default http://localhost:5000), MLFLOW_EXPERIMENT_ID (default 0). */
export async function mlflowReporter(mod: Record<string, unknown>, ctx: ReportContext): Promise<Reporter> {
  const MLflow = (mod.default ?? mod) as new (o: { endpoint: string }) => MlflowClient;
  const client = new MLflow({ endpoint: process.env.MLFLOW_TRACKING_URI ?? 'http://localhost:5000' });
  const { run } = await quiet(() => client.Runs.create({ experiment_id: process.env.MLFLOW_EXPERIMENT_ID ?? '0', user_id: process.env.USER ?? 'moontrain', start_time: Date.now() }));
  const run_id = run.info.run_id;
  const params = Object.entries(ctx.config).filter(([, v]) => v !== undefined).map(([key, v]) => ({ key, value: String(v) }));
  // Requests go on while training does; the first failure is kept and reported by close().
  let failure: unknown;
  const pending: Promise<unknown>[] = [];
  const send = (request: () => Promise<unknown>) => pending.push(quiet(request).catch((e) => (failure ??= e)));
  send(() => client.Runs.logBatch({ run_id, params }));
  return {
    log: (step, s) => {
      const timestamp = Date.now();
      send(() => client.Runs.logBatch({ run_id, metrics: Object.entries(s).map(([key, value]) => ({ key, value, timestamp, step })) }));
    },
    close: async () => {
      await Promise.all(pending);
      await quiet(() => client.Runs.update({ run_id, status: failure ? 'FAILED' : 'FINISHED', end_time: Date.now() }));
      if (failure) throw failure;
    },
  };
}
