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
