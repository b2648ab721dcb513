import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible embeddings endpoint on loopback whose answers can be held: a test holds them, waits until the
 * service is inside a call, does something to the service (a SIGTERM), then lets the answer go. The vectors are
 * deterministic and of the requested `dimensions`.
 */
export class HeldEmbeddingServer {
  private holding = false;
  private readonly held: Array<() => void> = [];
  private readonly arrivals: Array<() => void> = [];
  /** Calls answered, and calls whose client went away before the answer. */
  answered = 0;
  abandoned = 0;

  private readonly server = createServer((req, res) => void this.handle(req, res));

  static async start(): Promise<HeldEmbeddingServer> {
    const instance = new HeldEmbeddingServer();
    await new Promise<void>((resolve) => instance.server.listen(0, '127.0.0.1', resolve));
    return instance;
  }

  /** The base URL to give as EMBEDDINGS_BASE_URL. */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** From now on, calls wait for `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Resolves once a call is being held. */
  arrival(): Promise<void> {
    if (this.held.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      input: string[] | string;
      model: string;
      dimensions?: number;
    };
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const dimensions = body.dimensions ?? 8;
    if (this.holding) {
      await new Promise<void>((resolve) => {
        this.held.push(resolve);
        for (const arrived of this.arrivals.splice(0)) arrived();
      });
    }
    if (res.destroyed || req.socket.destroyed) {
      this.abandoned++;
      return;
    }
    const data = inputs.map((text, index) => ({
      object: 'embedding',
      index,
      embedding: Array.from({ length: dimensions }, (_, i) => Math.sin(text.length + i + 1)),
    }));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    this.answered++;
  }
}
