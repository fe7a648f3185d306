// A run's settings in one file: `--config-file run.json` (a JSON object whose keys are the
// command's flag names, e.g. { "steps": 2000, "batch-size": 16, "data": "shards/train_*.bin" },
// or the same keys in a .toml file: `steps = 2000`, `batch-size = 16`). The file's
// values come first and flags on the command line override them. An unknown key, or a value of
// the wrong kind, is one line naming the key and the file. A bool flag is set by `true`; `false`
// leaves it off. The run.json a training run writes into its folder is such a file.
import * as fs from 'fs';
import * as path from 'path';
// smol-toml's CommonJS build (its type declarations are the ES module's).
const { parse: parseToml } = require('smol-toml') as { parse(text: string): Record<string, unknown> };
import { Flags, UsageError, parseFlags } from './args';

export const CONFIG_FILE_FLAG = 'config-file';

/** The value of --config-file in argv and argv without it. */
function splitConfigFlag(argv: string[]): { file?: string; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${CONFIG_FILE_FLAG}`) {
      if (i + 1 >= argv.length) throw new UsageError(`moontrain: --${CONFIG_FILE_FLAG}: expected a file, got nothing`);
      file = argv[++i];
    } else if (arg.startsWith(`--${CONFIG_FILE_FLAG}=`)) file = arg.slice(CONFIG_FILE_FLAG.length + 3);
    else rest.push(arg);
  }
  return { file, rest };
}

function readSettings(file: string, command: string): Record<string, unknown> {
  const where = `moontrain ${command}: --${CONFIG_FILE_FLAG} ${file}`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${where}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let value: unknown;
  if (path.extname(file).toLowerCase() === '.toml') {
    try {
      value = parseToml(text);
    } catch (e) {
      throw new UsageError(`${where}: not valid TOML: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${where}: not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(`${where}: expected an object of settings ({ "steps": 100, ... }), got ${Array.isArray(value) ? 'an array' : typeof value}`);
  return value as Record<string, unknown>;
}

/**
 * argv with the settings of its --config-file (if any) put before the command line's own flags,
 * which therefore win. Each setting is checked here, so that an error names the file.
 */
export function expandConfigFile(argv: string[], flags: Flags, command: string): string[] {
  const { file, rest } = splitConfigFlag(argv);
  if (file === undefined) return argv;
  return [...settingsArgv(readSettings(file, command), flags, command, `--${CONFIG_FILE_FLAG} ${file}`), ...rest];
}

/** Settings ({ flag: value }) as command-line flags, each checked; errors name `where`. */
export function settingsArgv(settings: Record<string, unknown>, flags: Flags, command: string, source: string): string[] {
  const where = `moontrain ${command}: ${source}`;
  const fromFile: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const spec = key === CONFIG_FILE_FLAG ? undefined : flags[key];
    if (!spec) throw new UsageError(`${where}: unknown key '${key}' (expected flag names of moontrain ${command}: ${Object.keys(flags).filter((k) => k !== CONFIG_FILE_FLAG).join(', ')})`);
    if (value === null) continue;
    let args: string[];
    if (spec.type === 'bool') {
      if (typeof value !== 'boolean') throw new UsageError(`${where}: '${key}': expected true or false, got ${JSON.stringify(value)}`);
      args = value ? [`--${key}`] : [];
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`${where}: '${key}': expected a ${spec.type === 'string' ? 'string' : 'number'}, got ${JSON.stringify(value)}`);
      args = [`--${key}=${value}`];
    }
    try {
      parseFlags(args, { [key]: spec }, command);
    } catch (e) {
      throw new UsageError((e as Error).message.replace(`moontrain ${command}: --${key}:`, `${where}: '${key}':`));
    }
    fromFile.push(...args);
  }
  return fromFile;
}
