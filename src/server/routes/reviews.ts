import type { FastifyInstance } from 'fastify';
import type { UseCases } from '../../app/index.js';

export function reviewsRoutes(_app: FastifyInstance, _uc: UseCases): void {}
