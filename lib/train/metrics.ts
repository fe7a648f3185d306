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

/** A small self-contained SVG: smoothed train loss and validation loss against tokens. */
export function lossSvg(rows: StepMetrics[]): string {
  const W = 720, H = 420, L = 60, R = 20, T = 30, B = 50;
  const train = rows.filter((r) => Number.isFinite(r.loss));
  const val = rows.filter((r) => Number.isFinite(r.val_loss));
  const xs = train.map((r) => r.tokens), ys = [...train.map((r) => r.loss), ...val.map((r) => r.val_loss!)];
  if (xs.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no data yet</text></svg>\n`;
  const x0 = 0, x1 = Math.max(...xs, 1);
  const y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0 || 1)) * (H - T - B);
  let ema = train[0].loss;
  const smooth = train.map((r) => (ema = 0.9 * ema + 0.1 * r.loss));
  const line = (pts: [number, number][]) => pts.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = y0 + f * (y1 - y0), x = x0 + f * (x1 - x0);
    return `<text x="${L - 8}" y="${sy(y) + 4}" text-anchor="end" font-size="11">${y.toFixed(2)}</text>` +
      `<text x="${sx(x)}" y="${H - B + 18}" text-anchor="middle" font-size="11">${x >= 1e6 ? (x / 1e6).toFixed(1) + 'M' : x >= 1e3 ? (x / 1e3).toFixed(0) + 'k' : x}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<path d="M${L},${T} V${H - B} H${W - R}" stroke="#444" fill="none"/>
${ticks}
<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">tokens</text>
<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle" font-size="12">loss</text>
<path d="${line(train.map((r, i) => [r.tokens, smooth[i]]))}" stroke="#1f77b4" stroke-width="1.5" fill="none"/>
${val.length ? `<path d="${line(val.map((r) => [r.tokens, r.val_loss!]))}" stroke="#d62728" stroke-width="2" fill="none"/>` : ''}
${val.map((r) => `<circle cx="${sx(r.tokens).toFixed(1)}" cy="${sy(r.val_loss!).toFixed(1)}" r="3" fill="#d62728"/>`).join('')}
<text x="${W - R - 150}" y="${T + 4}" font-size="12" fill="#1f77b4">train (EMA 0.9)</text>
<text x="${W - R - 150}" y="${T + 20}" font-size="12" fill="#d62728">validation</text>
</svg>
`;
}
