/** The OpenAPI 3.1 description served at /openapi.json, built from the same schemas as the checks. */
import { z } from "zod";
import type { KindRegistry } from "./kinds.ts";
import { listQuery, STATUSES } from "./schemas.ts";
import { UPLOAD_TYPES } from "./uploads.ts";

const error = {
  description: "An error (JSON); validation errors name the field",
  content: {
    "application/json": {
      schema: {
        type: "object",
        properties: {
          error: {
            type: "object",
            properties: {
              status: { type: "integer" },
              message: { type: "string" },
              field: { type: "string" },
              issues: {
                type: "array",
                items: {
                  type: "object",
                  properties: { field: { type: "string" }, message: { type: "string" } },
                },
              },
            },
            required: ["status", "message"],
          },
        },
      },
    },
  },
};

const job = {
  type: "object",
  properties: {
    id: { type: "string", format: "uuid" },
    kind: { type: "string" },
    settings: { type: "object" },
    status: { enum: [...STATUSES] },
    attempts: { type: "integer" },
    createdAt: { type: "string" },
    startedAt: { type: ["string", "null"] },
    finishedAt: { type: ["string", "null"] },
    progress: {
      type: ["object", "null"],
      properties: { step: { type: "integer" }, total: { type: "integer" } },
    },
    cancelRequested: { type: "boolean" },
    output: {
      type: ["object", "null"],
      properties: {
        file: { type: "string" },
        contentType: { type: "string" },
        bytes: { type: "integer" },
        metadata: { type: "object" },
      },
    },
    error: { type: ["string", "null"] },
  },
};

const jobResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Job" } } },
});

const idParam = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
};

export function openApi(kinds: KindRegistry, version: string): Record<string, unknown> {
  const settingsSchemas = Object.fromEntries(
    kinds.all().map((k) => [k.name, z.toJSONSchema(k.settings, { io: "input" })]),
  );
  const submit = {
    oneOf: kinds.all().map((k) => ({
      type: "object",
      properties: { kind: { const: k.name }, settings: settingsSchemas[k.name] },
      required: ["kind"],
      additionalProperties: false,
    })),
  };
  const query = z.toJSONSchema(listQuery, { io: "input" }) as {
    properties: Record<string, unknown>;
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Zoetrope",
      version,
      description: "Submit video jobs, follow their progress, download their outputs.",
    },
    paths: {
      "/health": { get: { summary: "Liveness", responses: { 200: { description: "ok" } } } },
      "/kinds": {
        get: {
          summary: "The job kinds this server runs, with their settings' JSON Schemas",
          responses: { 200: { description: "kinds" } },
        },
      },
      "/jobs": {
        post: {
          summary: "Submit a job",
          requestBody: { required: true, content: { "application/json": { schema: submit } } },
          responses: { 201: jobResponse("the queued job"), 400: error, 413: error, 415: error },
        },
        get: {
          summary: "List jobs, newest first",
          parameters: Object.entries(query.properties).map(([name, schema]) => ({
            name,
            in: "query",
            required: false,
            schema,
          })),
          responses: {
            200: {
              description: "jobs",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      jobs: { type: "array", items: { $ref: "#/components/schemas/Job" } },
                    },
                  },
                },
              },
            },
            400: error,
          },
        },
      },
      "/jobs/{id}": {
        get: {
          summary: "A job",
          parameters: [idParam],
          responses: { 200: jobResponse("the job"), 404: error },
        },
      },
      "/jobs/{id}/cancel": {
        post: {
          summary: "Cancel a job (a queued job at once, a running one at its next step)",
          parameters: [idParam],
          responses: { 200: jobResponse("the job"), 404: error, 409: error },
        },
      },
      "/jobs/{id}/events": {
        get: {
          summary: "Server-Sent Events: status, progress (step, total, etaSeconds, preview), end",
          parameters: [idParam],
          responses: { 200: { description: "text/event-stream" }, 404: error },
        },
      },
      "/jobs/{id}/output": {
        get: {
          summary: "Download the output of a succeeded job (its metadata is in the job)",
          parameters: [idParam],
          responses: { 200: { description: "the file" }, 404: error, 409: error },
        },
      },
      "/uploads": {
        post: {
          summary: "Upload an input image or video (raw bytes; Content-Type says which)",
          requestBody: {
            required: true,
            content: Object.fromEntries(
              UPLOAD_TYPES.map((t) => [t, { schema: { type: "string", format: "binary" } }]),
            ),
          },
          responses: { 201: { description: "{ id, contentType, bytes }" }, 413: error, 415: error },
        },
      },
      "/uploads/{id}": {
        get: {
          summary: "An upload's type and size",
          parameters: [idParam],
          responses: { 200: { description: "{ id, contentType, bytes }" }, 404: error },
        },
      },
    },
    components: { schemas: { Job: job, ...prefixed(settingsSchemas) } },
  };
}

function prefixed(schemas: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schemas).map(([name, s]) => [`Settings.${name}`, s]));
}
