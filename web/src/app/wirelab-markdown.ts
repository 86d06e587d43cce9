/**
 * Markdown, rendered and sanitised (see markdown.ts): only the sanitiser's output ever reaches
 * unsafeHTML. A click on a link to another lab asks the app to open that lab.
 */
import { LitElement, css, html, type PropertyValues } from "lit";
import { unsafeHTML } from "lit/directives/unsafe-html.js";
import { markdownToSafeHtml } from "./markdown.js";
import { navigate } from "./navigate.js";
import { base } from "./theme.js";

export class WirelabMarkdown extends LitElement {
  static override properties = { markdown: {} };
  declare markdown: string;
  #html = "";

  static override styles = [
    base,
    css`
      :host {
        display: block;
        font-size: 1.05rem;
        line-height: 1.55;
        overflow-wrap: break-word;
      }
      .body > :first-child {
        margin-top: 0;
      }
      .body > :last-child {
        margin-bottom: 0;
      }
      h2,
      h3,
      h4 {
        margin: 1.2em 0 0.4em;
        line-height: 1.25;
      }
      h2 {
        font-size: 1.35rem;
      }
      h3 {
        font-size: 1.2rem;
      }
      h4 {
        font-size: 1.05rem;
      }
      p,
      ul,
      ol,
      blockquote,
      pre,
      table {
        margin: 0 0 0.75em;
      }
      ul,
      ol {
        padding-left: 1.4em;
      }
      li + li {
        margin-top: 0.3em;
      }
      code {
        font-family: var(--mono);
        font-size: 0.9em;
        background: var(--surface-sunken);
        border: 1px solid var(--border);
        border-radius: 4px;
        padding: 0.05em 0.3em;
      }
      pre {
        background: var(--surface-sunken);
        border: 1px solid var(--border);
        border-radius: 6px;
        padding: 0.6rem 0.8rem;
        overflow-x: auto;
      }
      pre code {
        border: none;
        background: none;
        padding: 0;
      }
      blockquote {
        border-left: 4px solid var(--border-strong);
        padding-left: 0.9rem;
        color: var(--text-muted);
      }
      table {
        border-collapse: collapse;
      }
      th,
      td {
        border: 1px solid var(--border);
        padding: 0.25rem 0.5rem;
        text-align: left;
      }
      a {
        color: var(--accent-strong);
      }
      img {
        max-width: 100%;
      }
    `,
  ];

  constructor() {
    super();
    this.markdown = "";
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("markdown")) this.#html = markdownToSafeHtml(this.markdown);
  }

  override render() {
    return html`<div class="body" @click=${this.#click}>${unsafeHTML(this.#html)}</div>`;
  }

  #click(event: MouseEvent): void {
    const link = (event.target as Element).closest?.("a[data-lab]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(this, { view: "lab", id: link.getAttribute("data-lab")! });
  }
}

customElements.define("wirelab-markdown", WirelabMarkdown);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-markdown": WirelabMarkdown;
  }
}
