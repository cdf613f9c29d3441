/**
 * Calls to the server's API with the token the user pasted. The token is kept in sessionStorage:
 * it lasts as long as the tab, is not shared with other tabs, and is never written into the page.
 */

const TOKEN_KEY = "zoetrope.token";

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An error response of the API: { error: { status, message, field?, issues? } }. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly issues: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** Called on every 401, so the page can ask for the token again. */
let onUnauthorized: (err: ApiError) => void = () => {};

export function whenUnauthorized(handler: (err: ApiError) => void): void {
  onUnauthorized = handler;
}

/** fetch() of an API path with the token; throws ApiError for a response that is not 2xx. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = savedToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const res = await fetch(path, { ...init, headers, cache: "no-store" });
  if (res.ok) return res;
  const err = await errorOf(res);
  if (res.status === 401) onUnauthorized(err);
  throw err;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await apiFetch(path, init)).json()) as T;
}

export function postJson<T>(path: string, body: unknown): Promise<T> {
  return apiJson<T>(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const e = (JSON.parse(text) as { error?: Partial<ApiError> & { message?: string } }).error;
    if (e?.message) return new ApiError(res.status, e.message, e.field, e.issues ?? []);
  } catch {
    // Not the API's JSON (a proxy's page, say): reported by status below.
  }
  return new ApiError(res.status, `${res.status} ${res.statusText || "error"}`);
}

/** The job record the API returns (the fields the studio shows). */
export interface Job {
  id: string;
  kind: string;
  /** The settings as the server stored them (its defaults filled in). */
  settings: Record<string, unknown>;
  status: "queued" | "running" | "succeeded" | "failed" | "canceled";
  createdAt: string;
  progress: { step: number; total: number } | null;
  output: {
    file: string;
    contentType: string;
    bytes: number;
    /** What the kind said about its output (caption, size, …). */
    metadata?: Record<string, unknown>;
  } | null;
  error: string | null;
}

export const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

/** A JSON Schema, as much of it as zod's toJSONSchema writes for the settings. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  /** On an upload field: the content types it takes (the server's own marker). */
  "x-upload"?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
}

export interface Kind {
  name: string;
  description: string;
  output: { extension: string; contentType: string };
  settings: Schema;
}
