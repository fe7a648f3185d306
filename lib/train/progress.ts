// Progress on stderr: a redrawn bar on a terminal, plain lines otherwise (logs, CI, pipes).
export interface ProgressState {
  step: number;
  total: number;
  loss: number;
  tokensPerS: number;
  valLoss?: number;
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  return h > 0 ? `${h}h${String(m % 60).padStart(2, '0')}m` : m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** Where progress goes: process.stderr by default (a bar when it is a terminal). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class Progress {
  private readonly tty: boolean;
  private lastLine = 0;
  private readonly started = Date.now();
  private readonly startStep: number;

  constructor(startStep: number, private readonly stream: ProgressStream = process.stderr, private readonly every = 10) {
    this.tty = !!stream.isTTY;
    this.startStep = startStep;
  }

  update(s: ProgressState): void {
    const done = s.step + 1 - this.startStep;
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = (elapsed / Math.max(1, done)) * (s.total - s.step - 1);
    const tok = s.tokensPerS >= 1000 ? `${(s.tokensPerS / 1000).toFixed(1)}k` : s.tokensPerS.toFixed(0);
    const val = s.valLoss !== undefined ? ` | val ${s.valLoss.toFixed(3)}` : '';
    const text = `step ${s.step + 1}/${s.total} | loss ${s.loss.toFixed(3)}${val} | ${tok} tok/s | ETA ${duration(eta)}`;
    if (this.tty) {
      const width = 24, filled = Math.round((width * (s.step + 1)) / s.total);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (s.step + 1 === s.total || s.valLoss !== undefined || Date.now() - this.lastLine > 5000 || (s.step + 1) % this.every === 0) {
      this.lastLine = Date.now();
      this.stream.write(text + '\n');
    }
  }

  message(line: string): void {
    this.stream.write((this.tty ? '\r\x1b[K' : '') + line + '\n');
  }

  end(): void {
    if (this.tty) this.stream.write('\n');
  }
}
