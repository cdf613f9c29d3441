/**
 * Every error the API returns is JSON: { error: { status, message, field?, issues? } }. Zod
 * issues are turned into field paths such as "settings.width", so a client knows what to fix.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

export interface FieldIssue {
  field: string;
  message: string;
}

export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  extra: { field?: string; issues?: FieldIssue[] } = {},
): Response {
  return c.json({ error: { status, message, ...extra } }, status);
}

/** Field paths and messages of a failed zod parse, under `prefix` (e.g. "settings"). */
export function fieldIssues(error: z.ZodError, prefix?: string): FieldIssue[] {
  return error.issues.map((i) => ({
    field: [...(prefix ? [prefix] : []), ...i.path.map(String)].join(".") || "(body)",
    message: i.message,
  }));
}

export function validationError(c: Context, issues: FieldIssue[]): Response {
  const first = issues[0];
  return errorResponse(c, 400, `${first.field}: ${first.message}`, {
    field: first.field,
    issues,
  });
}
