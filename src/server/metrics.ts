import type { FastifyInstance } from 'fastify';
import type { UseCases } from '../app/index.js';
import type { Store } from '../app/ports.js';
import type { DecisionIndex } from '../core/decision.js';
import type { Clock } from '../core/clock.js';

export interface MetricsOptions {
  store: Store;
  index: DecisionIndex;
  clock: Clock;
  uc: UseCases;
  /** ELEVATE_METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`. */
  token: string | null;
}

/** Prometheus metrics at GET /metrics (issue 5 part 5). Registered at the root, outside /api/v1. */
export async function metricsRoutes(_app: FastifyInstance, _o: MetricsOptions): Promise<void> {}
