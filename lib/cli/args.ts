// Command-line flags: util.parseArgs (strict), then typed values checked with messages that
// name the flag, what was expected and what came.
import { parseArgs } from 'util';

export class UsageError extends Error {}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `--help` / `-h` after a command: its usage goes to stdout and the exit code is 0. */
export class HelpRequested extends Error {}

type FlagType = 'string' | 'number' | 'int' | 'bool';
export interface FlagSpec {
  type: FlagType;
  choices?: readonly string[];
  min?: number;
  help: string;
  default?: string | number | boolean;
}

export type Flags = Record<string, FlagSpec>;
export type Parsed = Record<string, string | number | boolean | undefined>;

export function parseFlags(argv: string[], flags: Flags, command: string): Parsed {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(`usage: moontrain ${command} [options]\n${flagHelp(flags)}`);
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean> });
  } catch (e) {
    throw new UsageError(`moontrain ${command}: ${(e as Error).message.replace(/^[A-Z_]+: /, '')}`);
  }
  const out: Parsed = {};
  for (const [name, f] of Object.entries(flags)) {
    const raw = values[name];
    if (raw === undefined) {
      out[name] = f.default;
      continue;
    }
    if (f.type === 'bool') {
      out[name] = raw as boolean;
      continue;
    }
    const s = raw as string;
    if (f.type === 'string') {
      if (f.choices && !f.choices.includes(s)) throw new UsageError(`moontrain ${command}: --${name}: expected one of ${f.choices.join(', ')}, got '${s}'`);
      out[name] = s;
      continue;
    }
    const v = Number(s);
    // Decimal only: Number() would also read '0x10' as 16, '0b11' as 3 and ' 5 ' as 5.
    const ok = DECIMAL.test(s) && Number.isFinite(v) && (f.type !== 'int' || Number.isInteger(v)) && (f.min === undefined || v >= f.min);
    if (!ok) throw new UsageError(`moontrain ${command}: --${name}: expected ${f.type === 'int' ? 'an integer' : 'a number'}${f.min !== undefined ? ` >= ${f.min}` : ''}, got '${s}'`);
    out[name] = v;
  }
  return out;
}

export function flagHelp(flags: Flags): string {
  return Object.entries(flags)
    .map(([name, f]) => {
      const value = f.type === 'bool' ? '' : f.choices ? ` ${f.choices.join('|')}` : f.type === 'string' ? ' VALUE' : ' N';
      const def = f.default !== undefined && f.type !== 'bool' ? ` (default ${f.default})` : '';
      return `  --${(name + value).padEnd(34)} ${f.help}${def}`;
    })
    .join('\n');
}
