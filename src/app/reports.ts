import type { AppDeps } from './context.js';

/** Evidence reports for a period (issue 5 part 6). */
export function makeReports(_deps: AppDeps) {
  return {};
}
