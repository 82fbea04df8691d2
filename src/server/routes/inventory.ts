import type { FastifyInstance } from 'fastify';
import type { UseCases } from '../../app/index.js';

export function inventoryRoutes(_app: FastifyInstance, _uc: UseCases): void {}
