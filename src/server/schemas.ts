/** Request shapes of the HTTP API (the kinds add their own settings schemas). */
import { z } from "zod";

/** Largest JSON request body. Settings are small; inputs travel as uploads. */
export const MAX_JSON_BYTES = 64 * 1024;
/** Largest upload, by default (`--max-upload-mib`). */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 2 ** 20;

export const submitBody = z
  .object({
    kind: z.string().min(1, "name a job kind (GET /kinds lists them)"),
    settings: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;

export const listQuery = z
  .object({
    status: z.enum(STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.uuid().optional(),
  })
  .strict();

export const jobId = z.uuid("a job id is a UUID");
