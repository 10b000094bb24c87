import { describe, expect, it } from 'vitest';
import { renderedOnce } from '../../src/lib/jsx-context.js';

// The monitor's settled cells are rendered once and shown again as they are (views/monitor/sessions-table.tsx).
describe('renderedOnce', () => {
  it('keeps the escaping the renderer did: agent text cannot become markup', () => {
    const agentText = '<script>alert(1)</script>&"';
    const cell = renderedOnce(<td title={agentText}>{agentText}</td>);
    expect(cell.text).toBe('<td title="&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;">&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;</td>');
    expect(String(cell.html)).toBe(cell.text);
    // Shown inside another element it is not escaped twice, nor unescaped.
    expect(String(<tr>{cell.html}</tr>)).toBe(`<tr>${cell.text}</tr>`);
  });

  it('renders several cells without anything between them', () => {
    expect(renderedOnce([<td>1</td>, <td>2</td>]).text).toBe('<td>1</td><td>2</td>');
  });

  it('takes no plain string: the type refuses it (npx tsc fails on this file if it did not)', () => {
    // @ts-expect-error a string is not the renderer's output
    expect(() => renderedOnce('<b>raw</b>')).not.toThrow();
  });
});
