/** Small terminal output helpers for the CLI: aligned tables and a one-line progress bar. */

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  // Numbers right-aligned so their digits line up; text left-aligned.
  const numeric = header.map((_, i) => i > 0 && rows.every((r) => /^[-–\d.,%]*$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function formatNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  // Small fractions (requests per message) keep two significant digits instead of rounding to 0.0.
  if (Math.abs(value) < 1) return String(Number(value.toPrecision(2)));
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A progress line on a terminal (redrawn in place); plain lines when the output is a file or pipe. */
export class ProgressLine {
  #last = "";

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(fraction: number, label: string): void {
    if (!this.stream.isTTY) {
      if (label !== this.#last) this.stream.write(`${label}\n`);
      this.#last = label;
      return;
    }
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    this.stream.write(`\r[${"█".repeat(filled)}${" ".repeat(width - filled)}] ${Math.round(fraction * 100)}% ${label}\x1b[K`);
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write("\n");
  }
}

/** Columns to wrap prose to: the terminal's width when there is one, never more than 100 (a long line is hard to read). */
export function textWidth(stream: NodeJS.WriteStream = process.stdout): number {
  return Math.max(40, Math.min(100, stream.isTTY && stream.columns ? stream.columns : 100));
}

/**
 * `text` broken at spaces into lines of at most `width` columns, each starting with `indent`.
 * A word longer than a line stands on a line of its own rather than being cut (a URL stays whole).
 */
export function wrapText(text: string, width: number, indent = ""): string {
  const room = Math.max(1, width - indent.length);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join("\n");
}
