import type { AlertRepo } from '../app/alerts-ports.js';
import type { Dialect } from './schema.js';

export function alertRepo(_dialect: Dialect): AlertRepo {
  return {
    async placeholder() {},
  };
}
