// Two "hosts" on this machine for MPI tests: two network namespaces joined by a veth pair
// (10.x.y.1 and .2), each process in them with its own hostname (a UTS namespace per command),
// and mpirun (Open MPI) started in host A, reaching host B through an rsh agent that enters B's
// namespaces. MPI's TCP traffic between the hosts crosses the veth pair; inside a host, loopback
// and /dev/shm. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); create() says why when it cannot.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface TwoHosts {
  names: [string, string];
  dir: string;
  /** mpirun -n <n> --hostfile (2 slots a host unless given) ... <argv>, started in host A; killed after timeoutMs. */
  mpirun(n: number, argv: string[], options?: { env?: Record<string, string>; mpirunArgs?: string[]; timeoutMs?: number }): Promise<MpiRun>;
  remove(): void;
}

export interface MpiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

function sh(cmd: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 10000 });
  return { ok: r.status === 0, err: `${cmd.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}` };
}

/** The two hosts, or a one-line reason why they cannot be made here. */
export function createTwoHosts(): TwoHosts | string {
  if (spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status !== 0) return 'no mpirun (install openmpi-bin)';
  if (!/Open MPI/.test(spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).stdout)) return 'mpirun is not Open MPI';
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const ns = [`mt-${id}-a`, `mt-${id}-b`];
  const names: [string, string] = [`mthost${id}a`, `mthost${id}b`];
  const veth = [`mt${id}a`, `mt${id}b`];
  const net = `10.${(process.pid >> 8) & 255}.${process.pid & 255}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hosts-'));
  const remove = () => {
    for (const n of ns) spawnSync('ip', ['netns', 'delete', n]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const steps = [
    ['ip', 'netns', 'add', ns[0]],
    ['ip', 'netns', 'add', ns[1]],
    ['ip', 'link', 'add', veth[0], 'netns', ns[0], 'type', 'veth', 'peer', 'name', veth[1], 'netns', ns[1]],
    ['ip', '-n', ns[0], 'addr', 'add', `${net}.1/24`, 'dev', veth[0]],
    ['ip', '-n', ns[1], 'addr', 'add', `${net}.2/24`, 'dev', veth[1]],
    ...ns.flatMap((n, i) => [['ip', '-n', n, 'link', 'set', 'lo', 'up'], ['ip', '-n', n, 'link', 'set', veth[i], 'up']]),
    ['ip', 'netns', 'exec', ns[0], 'unshare', '--uts', 'true'],
  ];
  for (const s of steps) {
    const r = sh(s);
    if (!r.ok) {
      remove();
      return `cannot create network namespaces: ${r.err}`;
    }
  }
  // mpirun's rsh agent: "agent HOST CMD..." runs CMD in HOST's namespaces, with HOST as hostname.
  const agent = path.join(dir, 'agent.sh');
  fs.writeFileSync(agent, `#!/bin/sh\nhost=$1; shift\ncase "$host" in ${names[0]}) ns=${ns[0]};; ${names[1]}) ns=${ns[1]};; *) echo "agent: unknown host $host" >&2; exit 1;; esac\nexec ip netns exec "$ns" unshare --uts sh -c "hostname $host; $*"\n`, { mode: 0o755 });
  const hostfile = path.join(dir, 'hosts');
  fs.writeFileSync(hostfile, `${names[0]} slots=2\n${names[1]} slots=2\n`);

  const mpirun: TwoHosts['mpirun'] = (n, argv, options = {}) => {
    const env = { ...process.env, ...options.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
    const exports = Object.keys(options.env ?? {}).flatMap((k) => ['-x', k]);
    const args = ['-n', String(n), '--hostfile', hostfile, '--mca', 'plm_rsh_agent', agent, '--mca', 'plm_rsh_no_tree_spawn', '1',
      '--mca', 'oob_tcp_if_include', `${net}.0/24`, '--mca', 'btl_tcp_if_include', `${net}.0/24`, '--mca', 'btl', 'self,vader,tcp',
      '-x', 'PATH', ...exports, ...(options.mpirunArgs ?? []), process.execPath, ...argv];
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const t0 = Date.now();
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', ns[0], 'unshare', '--uts', 'sh', '-c', `hostname ${names[0]}; exec mpirun ${quoted}`], {
        env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const timer = setTimeout(() => {
        output += `\n(two-hosts: killed after ${options.timeoutMs ?? 120000} ms)`;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, options.timeoutMs ?? 120000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output, ms: Date.now() - t0 });
      });
    });
  };
  return { names, dir, mpirun, remove };
}
