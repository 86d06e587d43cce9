/**
 * The lab files of a folder (labs/ by default). Read on every call, so an instructor who adds
 * or edits a lab sees it at the next reload, without a build or a restart.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { LabDefinition } from "../web/src/isomorphic/lab/LabDefinition.js";
import { LabFormatError, labIdOf, parseLab } from "../web/src/isomorphic/lab/labFile.js";

export interface LabListing {
  labs: Array<Pick<LabDefinition, "id" | "title" | "summary" | "browserOnly">>;
  /** Files that could not be read as labs, with the reason. */
  errors: Array<{ file: string; message: string }>;
}

export class LabLibrary {
  constructor(readonly dir: string) {}

  async files(): Promise<string[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    return entries.filter((name) => /\.md$/.test(name) && name.toLowerCase() !== "readme.md").sort();
  }

  async list(): Promise<LabListing> {
    const listing: LabListing = { labs: [], errors: [] };
    for (const file of await this.files()) {
      try {
        const { id, title, summary, browserOnly } = await this.load(labIdOf(file));
        listing.labs.push({ id, title, summary, browserOnly });
      } catch (error) {
        listing.errors.push({ file: `labs/${file}`, message: (error as Error).message });
      }
    }
    return listing;
  }

  /** The lab with this id; undefined when there is no such file; throws LabFormatError when it is broken. */
  async load(id: string): Promise<LabDefinition> {
    const file = (await this.files()).find((name) => labIdOf(name) === id);
    if (!file) throw new LabNotFound(id);
    let text: string;
    try {
      text = await readFile(join(this.dir, file), "utf8");
    } catch (error) {
      // Listed but unreadable (a directory, a dangling link, no permission): a broken lab (422), not a server fault.
      throw new LabFormatError(`labs/${file}`, [{ field: "", message: `cannot be read as a file (${(error as NodeJS.ErrnoException).code ?? "unknown error"})` }]);
    }
    return parseLab(`labs/${file}`, text);
  }
}

export class LabNotFound extends Error {
  constructor(readonly id: string) {
    super(`there is no lab "${id}"`);
    this.name = "LabNotFound";
  }
}

export { LabFormatError };
