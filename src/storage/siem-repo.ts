import type { SiemRepo } from '../app/siem-ports.js';
import type { Dialect } from './schema.js';

export function siemRepo(_dialect: Dialect): SiemRepo {
  return {
    async placeholder() {},
  };
}
