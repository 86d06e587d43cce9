/**
 * Shared styles. Colours and sizes are CSS custom properties set on :root in index.html, so they
 * reach into every shadow root; this sheet only adds the common element rules.
 */
import { css } from "lit";

export const base = css`
  :host {
    box-sizing: border-box;
    font-variant-numeric: tabular-nums;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button,
  input,
  select {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 1px solid var(--border-strong);
    background: var(--surface);
    border-radius: 6px;
    padding: 0.3rem 0.7rem;
    line-height: 1.3;
  }
  button:hover:not(:disabled) {
    background: var(--surface-hover);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.55;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: var(--on-accent);
    font-weight: 600;
  }
  button.primary:hover:not(:disabled) {
    background: var(--accent-strong);
  }
  input[type="text"],
  select {
    border: 1px solid var(--border-strong);
    background: var(--surface);
    border-radius: 6px;
    padding: 0.35rem 0.55rem;
  }
  :focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .muted {
    color: var(--text-muted);
  }
`;

/** A transport picked with a radio button, framed in the transport's colour (--choice-color). */
export const transportChoice = css`
  label.choice {
    display: inline-flex;
    align-items: center;
    gap: 0.3em;
    padding: 0.25rem 0.6rem;
    border: 1px solid var(--border-strong);
    border-radius: 6px;
    cursor: pointer;
    background: var(--surface);
  }
  label.choice:has(input:checked) {
    border-color: var(--choice-color);
    box-shadow: inset 0 0 0 1px var(--choice-color);
    background: var(--surface-sunken);
    font-weight: 600;
  }
  label.choice:has(input:focus-visible) {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  input[type="radio"] {
    accent-color: var(--choice-color);
    margin: 0;
  }
`;

/**
 * The class view's tables (roster, waves, submissions): a scrolling `.table` wrapper, quiet
 * rules, muted headings, and the right / wrong marks of judged answers.
 */
export const classTable = css`
  .table {
    overflow-x: auto;
  }
  table {
    border-collapse: collapse;
    font-size: 0.92rem;
  }
  th,
  td {
    text-align: left;
    padding: 0.3rem 0.7rem 0.3rem 0;
    border-bottom: 1px solid var(--border);
    vertical-align: top;
  }
  th {
    font-weight: 600;
    color: var(--text-muted);
  }
  td.n {
    text-align: right;
  }
  .right {
    color: var(--ok, #15803d);
    font-weight: 600;
  }
  .wrong {
    color: var(--error);
    font-weight: 600;
  }
`;
