import type { Tx } from './tx-port.js';

/** Storage for the standing-access inventory (imports), per-role rollout mode and fallback-use counts. */
export interface InventoryRepo {
  placeholder(tx: Tx): Promise<void>;
}
