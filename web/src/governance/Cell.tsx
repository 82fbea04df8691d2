import type { ReactNode } from 'react';

/**
 * A table cell that carries its column's name (shown before it when a narrow screen stacks the table
 * into cards); its content stays one block, however many parts it has.
 */
export function Cell({ label, className, title, children }: { label: string; className?: string; title?: string; children: ReactNode }) {
  return (
    <td data-label={label} className={className} title={title}>
      <div className="cell">{children}</div>
    </td>
  );
}
