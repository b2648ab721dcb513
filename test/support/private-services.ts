import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * A PostgreSQL and a Redis server of a test's own, so that the test can stop and start them under a running API
 * without touching the machine's shared services (other suites run against those at the same time).
 */

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = PRIVATE_PORTS_FROM + workerSlot() * PORTS_PER_WORKER + (nextPort++ % PORTS_PER_WORKER);
    if (await isFree(port)) return port;
  }
}

/**
 * Private servers listen below the kernel's ephemeral range (32768 and up), so that no outgoing connection of
 * another test holds the port between this check and the server's bind, and each jest worker has a slice of its
 * own, so that two suites running side by side never pick the same port.
 */
const PRIVATE_PORTS_FROM = 20_000;
const PORTS_PER_WORKER = 500;
let nextPort = 0;

function workerSlot(): number {
  const id = Number(process.env.JEST_WORKER_ID ?? '1');
  return Number.isInteger(id) && id > 0 && id < 20 ? id : 1;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Retries `attempt` every 100 ms until it resolves, for up to `timeoutMs`. */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * PostgreSQL refuses to run as root: when the tests do, the cluster belongs to the `postgres` account and its
 * commands run as that account.
 */
const asRoot = process.getuid?.() === 0;
const POSTGRES_ACCOUNT = 'postgres';

async function pgCommand(command: string, args: string[]): Promise<void> {
  const file = join(PG_BIN, command);
  if (asRoot) await run('runuser', ['-u', POSTGRES_ACCOUNT, '--', file, ...args]);
  else await run(file, args);
}

export class PrivatePostgresServer {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** A fresh cluster (trust auth, superuser `postgres`) in a temporary directory, started. */
  static async create(): Promise<PrivatePostgresServer> {
    const dir = await mkdtemp(join(tmpdir(), 'engram-private-pg-'));
    if (asRoot) {
      const { stdout } = await run('id', ['-u', POSTGRES_ACCOUNT]);
      const { stdout: gid } = await run('id', ['-g', POSTGRES_ACCOUNT]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await pgCommand('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const server = new PrivatePostgresServer(await freePort(), dir);
    await server.start();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await pgCommand('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      options,
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    ]);
  }

  /** Stops it at once, dropping every connection (`-m immediate`: what a crash or a failover looks like). */
  async stop(): Promise<void> {
    await pgCommand('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  async query(text: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export class PrivateRedisServer {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async create(): Promise<PrivateRedisServer> {
    const server = new PrivateRedisServer(await freePort(), await mkdtemp(join(tmpdir(), 'engram-private-redis-')));
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Without persistence: a restart is an empty Redis, as after a flush or a failover to a fresh replica. */
  async start(): Promise<void> {
    if (this.process) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.process = spawn('redis-server', [...args, '--dir', this.dir], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await eventually(async () => {
      await probe.connect().catch((error: unknown) => {
        probe.disconnect();
        throw error;
      });
      await probe.ping();
    }, 5_000);
    probe.disconnect();
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
