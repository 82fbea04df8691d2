/** An open transaction. Effects that must wait for commit (index updates, outbox wake-ups) register here. */
export interface Tx {
  afterCommit(fn: () => void): void;
}
