import type { Tx } from './tx-port.js';

/** Storage for SIEM export cursors and dead letters. */
export interface SiemRepo {
  placeholder(tx: Tx): Promise<void>;
}
