import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EngramMetrics } from '@engram/telemetry';

export const WORKER_METRICS_OPTIONS = Symbol('WORKER_METRICS_OPTIONS');

export interface WorkerMetricsOptions {
  /** METRICS_PORT; undefined: no server. 0 would pick a free port (tests read it from `address`). */
  port?: number;
  host: string;
}

/**
 * A separate worker's only HTTP: Prometheus scrapes GET /metrics (the embedding throughput and batch latencies,
 * the queue depth, the database pool), and an orchestrator's liveness probe GET /health. No routes of the API, no
 * auth: bind it where only the scraper reaches (HOST, like the API's; the Kubernetes manifests scrape the pod).
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;

  constructor(
    @Inject(EngramMetrics) private readonly metrics: EngramMetrics,
    @Inject(WORKER_METRICS_OPTIONS) private readonly options: WorkerMetricsOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.port === undefined) return;
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET') {
        response.writeHead(405, { allow: 'GET' }).end();
      } else if (path === '/metrics') {
        this.metrics.render().then(
          (text) => response.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
      } else if (path === '/health') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
  }

  /** Where it listens (tests ask for port 0). */
  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
