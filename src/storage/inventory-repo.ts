import type { InventoryRepo } from '../app/inventory-ports.js';
import type { Dialect } from './schema.js';

export function inventoryRepo(_dialect: Dialect): InventoryRepo {
  return {
    async placeholder() {},
  };
}
