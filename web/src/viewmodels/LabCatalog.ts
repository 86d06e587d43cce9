/**
 * The server's labs (`GET /v1/labs`, `GET /v1/labs/:id`), read with the session's current token. The
 * server reads its lab folder on every request, so each call shows what is on disk now.
 */
import { HttpError, type FetchLike } from "../isomorphic/kit/FeedHttp.js";
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
  readonly #token: string | (() => string);
  readonly #fetch: FetchLike;

  constructor(options: LabCatalogOptions) {
    this.baseUrl = options.baseUrl;
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  list(): Promise<LabListing> {
    return this.#get("/v1/labs");
  }

  /** One lab, parsed by the server. Throws an HttpError: 404 for an unknown id, 422 (with the problem) for a broken file. */
  load(id: string): Promise<LabDefinition> {
    return this.#get(`/v1/labs/${encodeURIComponent(id)}`);
  }

  async #get<T>(path: string): Promise<T> {
    const response = await this.#fetch(new URL(path, this.baseUrl), {
      headers: { authorization: `Bearer ${typeof this.#token === "string" ? this.#token : this.#token()}` },
      signal: AbortSignal.timeout(10_000),
    });
    const data = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!response.ok) throw new HttpError(response.status, data.error?.code ?? "unknown", data.error?.message ?? `HTTP ${response.status}`);
    return data as T;
  }
}
