/**
 * Lab instructions: Markdown to HTML with marked, then through DOMPurify, always. Lab files are
 * written by people; whatever HTML they contain (a script, an onerror, a javascript: link) is
 * removed before it reaches the page.
 */
import DOMPurify from "dompurify";
import { Marked } from "marked";

/** The lab's title is the page's h2: the body's "## What to observe" becomes an h3, and so on down. */
const HEADING_SHIFT = 1;

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    heading({ tokens, depth }) {
      const level = Math.min(6, depth + HEADING_SHIFT);
      return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>\n`;
    },
  },
});

let hooked = false;

/** Links leave the dashboard in a new tab; a link to another lab file opens that lab here instead. */
function hookLinks(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName !== "A" || !node.hasAttribute("href")) return;
    const lab = labIdOfLink(node.getAttribute("href")!);
    if (lab) {
      node.setAttribute("href", `?lab=${lab}`);
      node.setAttribute("data-lab", lab);
      return;
    }
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  });
}

/** The lab a relative link points at ("07-six-connection-limit.md", "../labs/07-….md"), if any. */
export function labIdOfLink(href: string): string | null {
  const match = /^(?:\.\.?\/)*(?:labs\/)?(\d{2}-[a-z0-9-]+)\.md(?:#.*)?$/.exec(href);
  return match ? match[1]! : null;
}

/** A lab body usually starts with the lab's title as "# Title": the page shows the title already. */
export function withoutTitle(markdown: string, title: string): string {
  const match = /^#\s+(.+?)\s*#*\s*(?:\r?\n|$)/.exec(markdown);
  if (match && match[1]!.trim().toLowerCase() === title.trim().toLowerCase()) return markdown.slice(match[0].length).trimStart();
  return markdown;
}

/** Markdown to sanitised HTML. Browser only (DOMPurify needs a DOM). */
export function markdownToSafeHtml(markdown: string): string {
  hookLinks();
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
    FORBID_ATTR: ["style"],
    ADD_ATTR: ["target"],
  });
}
