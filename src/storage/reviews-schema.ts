import type { Kysely } from 'kysely';

/** Tables for reviews (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ReviewTables {}

/** Migration 0005_reviews: runs inside the migration transaction. */
export async function reviewsMigration(_db: Kysely<ReviewTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {}
