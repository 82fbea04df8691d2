import type { Tx } from './tx-port.js';

/** Storage for detection alerts, the detection cursor and thresholds. */
export interface AlertRepo {
  placeholder(tx: Tx): Promise<void>;
}
