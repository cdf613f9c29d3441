/** Test support for the server tests: reads a Server-Sent Events stream into events. */

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads `url` as an event stream until an `end` event (or the stream closes), sending `headers`
 * (the API token).
 */
export async function readEvents(
  url: string,
  onEvent?: (e: SseEvent) => void,
  headers: Record<string, string> = {},
): Promise<SseEvent[]> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += value;
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length === 0) continue;
      const e = { event, data: JSON.parse(data.join("\n")) };
      events.push(e);
      onEvent?.(e);
      if (event === "end") {
        await reader.cancel();
        return events;
      }
    }
  }
}
