import type { Tx } from './tx-port.js';

/** Storage for access-review campaigns and their items. */
export interface ReviewRepo {
  placeholder(tx: Tx): Promise<void>;
}
