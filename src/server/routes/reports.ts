import type { FastifyInstance } from 'fastify';
import type { UseCases } from '../../app/index.js';

export function reportsRoutes(_app: FastifyInstance, _uc: UseCases): void {}
