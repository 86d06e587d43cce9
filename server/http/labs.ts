/** Lab files over HTTP, for the dashboard: the list, and one lab parsed with the shared schema. */
import type { Router } from "express";
import { ERROR_CODES } from "../../web/src/protocol/index.js";
import { WirelabError } from "../errors.js";
import { LabFormatError, LabNotFound, type LabLibrary } from "../LabLibrary.js";

export function labRoutes(router: Router, library: LabLibrary): void {
  router.get("/labs", async (_req, res) => {
    res.json(await library.list());
  });

  router.get("/labs/:id", async (req, res) => {
    try {
      res.json(await library.load(String(req.params.id)));
    } catch (error) {
      if (error instanceof LabNotFound) throw new WirelabError(404, ERROR_CODES.notFound, error.message);
      if (error instanceof LabFormatError) throw new WirelabError(422, ERROR_CODES.invalidBody, error.message);
      throw error;
    }
  });
}
