/**
 * The server's labs (`GET /v1/labs`, `GET /v1/labs/:id`), read with the session's current token. The
 * server reads its lab folder on every request, so each call shows what is on disk now.
 */
import { JsonClient, type FetchLike } from "../isomorphic/kit/JsonClient.js";
import type { LabDefinition } from "../isomorphic/lab/index.js";

export interface LabSummary {
  id: string;
  title: string;
  summary: string;
  browserOnly: boolean;
}

export interface LabListing {
  labs: LabSummary[];
  /** Lab files the server could not read, with what is wrong (for the instructor who wrote them). */
  errors: Array<{ file: string; message: string }>;
}

export interface LabCatalogOptions {
  /** The server's origin. */
  baseUrl: string;
  /** The token, or where to read the current one (a SessionKeeper's `tokenSource`: tokens are refreshed). */
  token: string | (() => string);
  /** Defaults to the platform's fetch. */
  fetch?: FetchLike;
}

export class LabCatalog {
  readonly baseUrl: string;
  readonly #api: JsonClient;

  constructor(options: LabCatalogOptions) {
    this.baseUrl = options.baseUrl;
    this.#api = new JsonClient(options.baseUrl, { token: options.token, ...(options.fetch && { fetch: options.fetch }) });
  }

  list(): Promise<LabListing> {
    return this.#api.get("/v1/labs");
  }

  /** One lab, parsed by the server. Throws an HttpError: 404 for an unknown id, 422 (with the problem) for a broken file. */
  load(id: string): Promise<LabDefinition> {
    return this.#api.get(`/v1/labs/${encodeURIComponent(id)}`);
  }
}
