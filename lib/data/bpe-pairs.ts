// Pairs of token ids, as the byte-level BPE (bpe.ts) keys them: the pair (a, b) is the number
// a * MAX_VOCAB + b, and a binary heap of (priority, key) entries orders them, for training (max
// count, then min key) and for encoding (min rank, then min position).

/** The largest vocabulary (pair keys a * MAX_VOCAB + b stay exact in a double). */
export const MAX_VOCAB = 1 << 24;

export class PairHeap {
  private readonly pri: number[] = [];
  private readonly key: number[] = [];
  /** maxFirst: larger priority first; ties: smaller key first. Otherwise smaller priority first. */
  constructor(private readonly maxFirst: boolean) {}

  get size(): number {
    return this.pri.length;
  }

  private before(i: number, j: number): boolean {
    const pi = this.pri[i]!;
    const pj = this.pri[j]!;
    if (pi !== pj) return this.maxFirst ? pi > pj : pi < pj;
    return this.key[i]! < this.key[j]!;
  }

  private swap(i: number, j: number): void {
    const p = this.pri[i]!;
    this.pri[i] = this.pri[j]!;
    this.pri[j] = p;
    const k = this.key[i]!;
    this.key[i] = this.key[j]!;
    this.key[j] = k;
  }

  push(priority: number, key: number): void {
    this.pri.push(priority);
    this.key.push(key);
    let i = this.pri.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top; its priority and key are left in `top`. */
  pop(top: { priority: number; key: number }): void {
    top.priority = this.pri[0]!;
    top.key = this.key[0]!;
    const lastP = this.pri.pop()!;
    const lastK = this.key.pop()!;
    const n = this.pri.length;
    if (n === 0) return;
    this.pri[0] = lastP;
    this.key[0] = lastK;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(r, l) ? r : l;
      if (!this.before(c, i)) break;
      this.swap(c, i);
      i = c;
    }
  }
}
