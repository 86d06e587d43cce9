/** Lab files over HTTP, for the dashboard: the list, and one lab parsed with the shared schema. */
import type { Router } from "express";
import { ERROR_CODES } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError } from "../errors.js";
import { LabFormatError, LabNotFound, type LabLibrary } from "../LabLibrary.js";
import type { LabDefinition } from "../../web/src/isomorphic/lab/LabDefinition.js";

/** The lab of an id, or the HTTP error that says why there is none (404 unknown, 422 broken). */
export async function loadLab(library: LabLibrary, id: string): Promise<LabDefinition> {
  try {
    return await library.load(id);
  } catch (error) {
    if (error instanceof LabNotFound) throw new WirelabError(404, ERROR_CODES.notFound, error.message);
    if (error instanceof LabFormatError) throw new WirelabError(422, ERROR_CODES.invalidBody, error.message);
    throw error;
  }
}

export function labRoutes(router: Router, library: LabLibrary): void {
  router.get("/labs", async (_req, res) => {
    res.json(await library.list());
  });

  router.get("/labs/:id", async (req, res) => {
    res.json(await loadLab(library, String(req.params.id)));
  });
}
