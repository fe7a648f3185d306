// Token shards in llm.c's format, written as tokens stream in: every shard but the last holds
// exactly `shardTokens` tokens; uint16 when every id fits (vocabulary <= 65,536), else uint32; the
// vocabulary is recorded in header[3].
// Memory is one shard's buffer, whatever the corpus size.
import * as fs from 'fs';
import * as path from 'path';
import { checkInt, checkPath } from './errors';
import { writeLlmcTokenFile } from './token-files';

export interface ShardWriterOptions {
  /** Tokens per shard (the last may hold fewer). */
  shardTokens: number;
  /** The tokenizer's vocabulary: decides uint16 or uint32 storage. */
  vocabSize: number;
  /** File names are `<prefix>_<index, 6 digits>.bin`. */
  prefix: string;
}

export class TokenShardWriter {
  readonly files: string[] = [];
  readonly version: 1 | 2;
  private readonly buffer: Int32Array;
  private filled = 0;
  private total = 0;

  constructor(private readonly dir: string, private readonly options: ShardWriterOptions) {
    const op = 'TokenShardWriter';
    checkPath(op, 'dir', dir);
    checkInt(op, 'options.shardTokens', options.shardTokens, 1, 0x7fffffff);
    checkInt(op, 'options.vocabSize', options.vocabSize, 1, 2 ** 32);
    this.version = options.vocabSize <= 0x10000 ? 1 : 2;
    this.buffer = new Int32Array(options.shardTokens);
    fs.mkdirSync(dir, { recursive: true });
  }

  get tokens(): number {
    return this.total;
  }

  write(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; ) {
      const n = Math.min(tokens.length - i, this.buffer.length - this.filled);
      for (let k = 0; k < n; ++k) this.buffer[this.filled + k] = tokens[i + k]!;
      this.filled += n;
      this.total += n;
      i += n;
      if (this.filled === this.buffer.length) this.flush();
    }
  }

  private flush(): void {
    if (this.filled === 0) return;
    const file = path.join(this.dir, `${this.options.prefix}_${String(this.files.length).padStart(6, '0')}.bin`);
    writeLlmcTokenFile(file, this.buffer.subarray(0, this.filled), this.version, Math.min(this.options.vocabSize, 0x7fffffff));
    this.files.push(file);
    this.filled = 0;
  }

  /** Writes what is left as the last shard; returns the shard files. */
  finish(): string[] {
    this.flush();
    return this.files;
  }
}
