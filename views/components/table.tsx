import type { Child } from 'hono/jsx';

/** A column head: its label, or `{ num: label }` for a right-aligned figure. Falsy heads are left out (optional columns). */
export type Column = Child | { num: Child };

const isNum = (c: Column): c is { num: Child } => typeof c === 'object' && c !== null && 'num' in c;

/**
 * A list as a table: the `empty` line (muted) when there are no items, else a
 * scrollable table (of class `class`, if given) with these heads and `row` per item
 * (`row` gets the item's index too, for rows that depend on the one before).
 * `label` names the table for screen readers (an unseen caption, usually the heading above it).
 */
export function ListTable<T>(props: { class?: string; label: string; columns: Column[]; items: readonly T[]; row: (item: T, index: number) => Child; empty: Child }) {
  if (!props.items.length) return <p class="muted">{props.empty}</p>;
  return (
    <div class="table-wrap">
      <table class={props.class}>
        <caption class="sr-only">{props.label}</caption>
        <thead>
          <tr>{props.columns.filter((c) => c !== false && c !== null && c !== undefined).map((c) => (isNum(c) ? <th scope="col" class="num">{c.num}</th> : <th scope="col">{c}</th>))}</tr>
        </thead>
        <tbody>{props.items.map((item, i) => props.row(item, i))}</tbody>
      </table>
    </div>
  );
}
