/**
 * A job's Server-Sent Events read with fetch() and a stream reader. EventSource cannot send an
 * Authorization header, so the stream is parsed here: blocks separated by a blank line, each with
 * an `event:` name and `data:` lines (JSON).
 */
import { apiFetch } from "./api.ts";

export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * Calls `onEvent` for each event of `path` until the stream ends (after `end`) or `signal` is
 * aborted (then resolves quietly).
 */
export async function readEventStream(
  path: string,
  onEvent: (e: StreamEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let res: Response;
  try {
    res = await apiFetch(path, { signal, headers: { Accept: "text/event-stream" } });
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
  if (!res.body) throw new Error("the event stream has no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // Lines may end in \r\n or \r as well as \n (the SSE format allows all three).
      buffer += value.replace(/\r\n?/g, "\n");
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const e = parseBlock(block);
        if (e) onEvent(e);
        if (e?.event === "end") return;
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseBlock(block: string): StreamEvent | null {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length === 0 ? null : { event, data: JSON.parse(data.join("\n")) };
}
