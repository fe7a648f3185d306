// Run outputs: metrics.jsonl (one object per step) and loss.svg (train and validation loss
// against tokens), both replaced atomically so a crash never leaves a torn file.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  tokens: number;
  tokens_per_s: number;
  grad_norm?: number;
  aux_loss?: number;
  val_loss?: number;
  [key: string]: number | undefined;
}

export class MetricsLog {
  readonly rows: StepMetrics[] = [];
  private readonly file: string;

  /** Keeps the rows of an earlier run before `resumeStep` (a resumed run continues the file). */
  constructor(readonly dir: string, resumeStep = 0) {
    this.file = path.join(dir, 'metrics.jsonl');
    if (resumeStep > 0 && fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const row = JSON.parse(line) as StepMetrics;
          if (row.step < resumeStep) this.rows.push(row);
        } catch {
          // a torn last line from a crash: dropped
        }
      }
    }
    this.flush();
  }

  add(row: StepMetrics): void {
    this.rows.push(row);
    fs.appendFileSync(this.file, JSON.stringify(row) + '\n');
  }

  flush(): void {
    writeFileAtomic(this.file, this.rows.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  writePlot(): void {
    writeFileAtomic(path.join(this.dir, 'loss.svg'), lossSvg(this.rows));
  }
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
  dots?: boolean;
}

const tickLabel = (x: number) => (x >= 1e6 ? (x / 1e6).toFixed(1) + 'M' : x >= 1e3 ? (x / 1e3).toFixed(0) + 'k' : String(x));

/** One plot against tokens in the box (L, T) .. (W - R, T + H): axes, ticks, lines, legend. */
function panel(T: number, H: number, yLabel: string, x1: number, series: Series[]): string {
  const W = 720, L = 60, R = 20;
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x: number) => L + (x / (x1 || 1)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0 || 1)) * H;
  const line = (pts: [number, number][]) => pts.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = y0 + f * (y1 - y0), x = f * x1;
    return `<text x="${L - 8}" y="${sy(y) + 4}" text-anchor="end" font-size="11">${y.toFixed(2)}</text>` +
      `<text x="${sx(x)}" y="${T + H + 18}" text-anchor="middle" font-size="11">${tickLabel(x)}</text>`;
  }).join('');
  const body = series.map((s, k) => (s.points.length > 1 || !s.dots ? `<path d="${line(s.points)}" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5,3"' : ''} fill="none"/>\n` : '') +
    (s.dots ? s.points.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`).join('') + '\n' : '') +
    `<text x="${W - R - 190}" y="${T + 4 + 16 * k}" font-size="12" fill="${s.color}">${s.label}</text>\n`).join('');
  return `<path d="M${L},${T} V${T + H} H${W - R}" stroke="#444" fill="none"/>
${ticks}
<text x="${(L + W - R) / 2}" y="${T + H + 38}" text-anchor="middle" font-size="12">tokens</text>
<text x="16" y="${T + H / 2}" transform="rotate(-90 16 ${T + H / 2})" text-anchor="middle" font-size="12">${yLabel}</text>
${body}`;
}

/**
 * A small self-contained SVG: smoothed train loss and validation loss against tokens; below it,
 * when the model has MoE layers, the expert-load balance (worst layer's max/mean load, mean CV).
 */
export function lossSvg(rows: StepMetrics[]): string {
  const W = 720;
  const train = rows.filter((r) => Number.isFinite(r.loss));
  const val = rows.filter((r) => Number.isFinite(r.val_loss));
  if (train.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="420"><text x="20" y="40">no data yet</text></svg>\n`;
  const x1 = Math.max(...train.map((r) => r.tokens), 1);
  let ema = train[0].loss;
  const losses: Series[] = [
    { label: 'train (EMA 0.9)', color: '#1f77b4', points: train.map((r) => [r.tokens, (ema = 0.9 * ema + 0.1 * r.loss)]) },
  ];
  if (val.length) losses.push({ label: 'validation', color: '#d62728', points: val.map((r) => [r.tokens, r.val_loss!]), dots: true });
  const moe = rows.filter((r) => Number.isFinite(r['moe/load_max_over_mean']) && Number.isFinite(r['moe/load_cv']));
  const balance: Series[] = moe.length ? [
    { label: 'max/mean load (worst layer)', color: '#ff7f0e', points: moe.map((r) => [r.tokens, r['moe/load_max_over_mean']!]) },
    { label: 'CV of the loads (layer mean)', color: '#2ca02c', points: moe.map((r) => [r.tokens, r['moe/load_cv']!]), dashed: true },
  ] : [];
  const H = balance.length ? 720 : 420;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${panel(30, 340, 'loss', x1, losses)}${balance.length ? panel(450, 220, 'expert load balance', x1, balance) : ''}</svg>
`;
}
