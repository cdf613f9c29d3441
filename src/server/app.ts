/**
 * The HTTP API (hono): JSON in, JSON out, every request checked against a zod schema, body and
 * upload sizes capped. Routes are listed in openapi.ts, which is served at /openapi.json. Every
 * route but /health and the browser studio (studio.ts) needs the bearer token (auth.ts) and is
 * rate limited.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { JobQueue } from "../queue/types.ts";
import { TERMINAL } from "../queue/types.ts";
import { authAndLimits, type RateLimit, RateLimiter } from "./auth.ts";
import { errorResponse, type FieldIssue, fieldIssues, validationError } from "./errors.ts";
import { jobEvents } from "./events.ts";
import type { KindRegistry, UploadInput } from "./kinds.ts";
import { openApi } from "./openapi.ts";
import type { ProgressBus } from "./progress-bus.ts";
import { jobId, listQuery, MAX_JSON_BYTES, submitBody } from "./schemas.ts";
import { studioRoutes } from "./studio.ts";
import { UploadError, type Uploads } from "./uploads.ts";

export interface AppDeps {
  queue: JobQueue;
  kinds: KindRegistry;
  bus: ProgressBus;
  uploads: Uploads;
  outputDir: string;
  maxUploadBytes: number;
  version: string;
  /** The bearer token every request but /health must send; null serves without one. */
  token: string | null;
  rateLimit: RateLimit;
  /** Called after a job is queued (wakes the local worker). */
  onSubmit?: () => void;
  /** Called after a running job was asked to stop (stops it at once if it runs here). */
  onCancel?: (id: string) => void;
}

/** Output files as the worker names them: `<job id>.<attempt>.<extension>`. */
const OUTPUT_NAME = /^[0-9a-f-]{36}\.\d+\.[a-z0-9]+$/;
const OUTPUT_TYPES: Record<string, string> = {
  mp4: "video/mp4",
  webm: "video/webm",
  png: "image/png",
  jpg: "image/jpeg",
};

export function createApp(deps: AppDeps): Hono {
  const { queue, kinds, bus, uploads } = deps;
  const app = new Hono();
  const tooLarge = (limit: number) => (c: Parameters<typeof errorResponse>[0]) =>
    errorResponse(c, 413, `the request body is larger than ${limit} bytes`);

  app.onError((err, c) => {
    if (err instanceof UploadError) return errorResponse(c, err.status, err.message);
    console.error(err);
    return errorResponse(c, 500, "internal error");
  });
  app.notFound((c) => errorResponse(c, 404, `no route ${c.req.method} ${c.req.path}`));
  app.use(async (c, next) => {
    await next();
    // Browsers must take every response as the type it declares (JSON, MP4, PNG), never sniff it.
    c.res.headers.set("X-Content-Type-Options", "nosniff");
  });
  // The browser studio (/ and /studio/*) holds no secret: mounted before the token check.
  app.route("/", studioRoutes());
  app.use(authAndLimits(deps.token, new RateLimiter(deps.rateLimit)));

  app.get("/health", (c) => c.json({ ok: true }));
  app.get("/openapi.json", (c) => c.json(openApi(kinds, deps.version)));
  const openapi = openApi(kinds, deps.version) as { components: { schemas: object } };
  app.get("/kinds", (c) =>
    c.json({
      kinds: kinds.all().map((k) => ({
        name: k.name,
        description: k.description,
        output: k.output,
        settings: (openapi.components.schemas as Record<string, unknown>)[`Settings.${k.name}`],
      })),
    }),
  );

  app.post(
    "/jobs",
    bodyLimit({ maxSize: MAX_JSON_BYTES, onError: tooLarge(MAX_JSON_BYTES) }),
    async (c) => {
      if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
        return errorResponse(c, 415, "send the job as JSON (Content-Type: application/json)");
      }
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return errorResponse(c, 400, "the body is not valid JSON");
      }
      const parsed = submitBody.safeParse(body);
      if (!parsed.success) return validationError(c, fieldIssues(parsed.error));
      const kind = kinds.get(parsed.data.kind);
      if (!kind) {
        return validationError(c, [
          {
            field: "kind",
            message: `no job kind ${JSON.stringify(parsed.data.kind)}; this server runs: ${kinds.names().join(", ")}`,
          },
        ]);
      }
      const settings = kind.settings.safeParse(parsed.data.settings);
      if (!settings.success) return validationError(c, fieldIssues(settings.error, "settings"));
      const problems = await inputProblems(uploads, kind.inputs?.(settings.data) ?? []);
      if (problems.length > 0) return validationError(c, problems);
      const job = await queue.submit(kind.name, settings.data as Record<string, unknown>);
      deps.onSubmit?.();
      c.header("Location", `/jobs/${job.id}`);
      return c.json(job, 201);
    },
  );

  app.get("/jobs", async (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) return validationError(c, fieldIssues(q.error));
    return c.json({ jobs: await queue.list(q.data) });
  });

  const findJob = async (id: string) => (jobId.safeParse(id).success ? queue.get(id) : null);
  const noJob = (c: Parameters<typeof errorResponse>[0], id: string) =>
    errorResponse(c, 404, `no job ${JSON.stringify(id)}`, { field: "id" });

  app.get("/jobs/:id", async (c) => {
    const job = await findJob(c.req.param("id"));
    return job ? c.json(job) : noJob(c, c.req.param("id"));
  });

  app.post("/jobs/:id/cancel", async (c) => {
    const job = await findJob(c.req.param("id"));
    if (!job) return noJob(c, c.req.param("id"));
    if (TERMINAL.has(job.status)) {
      return errorResponse(c, 409, `job ${job.id} has already ${job.status}`);
    }
    const after = await queue.cancel(job.id);
    if (after?.status === "running") deps.onCancel?.(job.id);
    return c.json(after);
  });

  app.get("/jobs/:id/events", async (c) => {
    const job = await findJob(c.req.param("id"));
    return job ? jobEvents(c, job, queue, bus) : noJob(c, c.req.param("id"));
  });

  app.get("/jobs/:id/output", async (c) => {
    const job = await findJob(c.req.param("id"));
    if (!job) return noJob(c, c.req.param("id"));
    if (job.status !== "succeeded" || !job.output) {
      return errorResponse(c, 409, `job ${job.id} has no output (it is ${job.status})`);
    }
    // The name was made by the worker (id.attempt.ext), never by a client; checked all the same,
    // since a queue shared with other machines (Redis) is only as safe as they are.
    const file = job.output.file;
    if (!OUTPUT_NAME.test(file) || !file.startsWith(`${job.id}.`)) {
      return errorResponse(c, 500, `the output of job ${job.id} has a malformed file name`);
    }
    const path = join(deps.outputDir, file);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) {
      return errorResponse(c, 404, `the output of job ${job.id} is missing on disk`);
    }
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream;
    const ext = file.slice(file.lastIndexOf(".") + 1);
    return c.body(body, 200, {
      // From the file's extension, not from the record: only types a browser will not run.
      "Content-Type": OUTPUT_TYPES[ext] ?? "application/octet-stream",
      "Content-Length": String(info.size),
      "Content-Disposition": `attachment; filename="${job.kind.replace(/[^\w-]/g, "_")}-${job.id}.${ext}"`,
      "X-Content-Type-Options": "nosniff",
    });
  });

  app.post(
    "/uploads",
    bodyLimit({ maxSize: deps.maxUploadBytes, onError: tooLarge(deps.maxUploadBytes) }),
    async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      const info = await uploads.save(bytes, c.req.header("content-type") ?? "");
      c.header("Location", `/uploads/${info.id}`);
      return c.json(info, 201);
    },
  );

  app.get("/uploads/:id", async (c) => c.json(await uploads.info(c.req.param("id"))));

  return app;
}

/** Inputs that name no stored upload, or one of a type their field does not take. */
async function inputProblems(uploads: Uploads, inputs: UploadInput[]): Promise<FieldIssue[]> {
  const problems: FieldIssue[] = [];
  for (const { field, id, accepts } of inputs) {
    const info = await uploads.info(id).catch((err) => {
      if (err instanceof UploadError) return null;
      throw err;
    });
    const where = `settings.${field}`;
    if (!info) problems.push({ field: where, message: `no upload ${id} (POST /uploads first)` });
    else if (!accepts.includes(info.contentType)) {
      const all = (prefix: string) => accepts.every((t) => t.startsWith(prefix));
      const noun = all("image/") ? "an image" : all("video/") ? "a video" : "a file";
      problems.push({
        field: where,
        message: `upload ${id} is ${info.contentType}; this field takes ${noun} (${accepts.join(" or ")})`,
      });
    }
  }
  return problems;
}
