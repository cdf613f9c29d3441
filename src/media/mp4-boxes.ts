/**
 * Whether an MP4/MOV file is whole, from its top-level boxes alone (no decoding). An MP4 is a
 * sequence of boxes, each starting with its size and a four-letter type; a complete file is
 * tiled exactly by them and holds a `moov` (the index) and media data (`mdat`, or `moof`
 * fragments). A copy cut short ends inside a box; an encoder that hit a full disk may even exit
 * 0 having written only part of the file — both are caught here.
 */
import { open } from "node:fs/promises";

export interface Mp4Check {
  complete: boolean;
  /** Why not, in words ("it ends inside its mdat box: 2,048 of 90,112 bytes are there"). */
  problem?: string;
  boxes: string[];
}

const TYPE = /^[\x20-\x7e]{4}$/;

/** Walks the top-level boxes of `path`. Reads only box headers, so any file size is cheap. */
export async function checkMp4(path: string): Promise<Mp4Check> {
  const handle = await open(path, "r");
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(16);
    const boxes: string[] = [];
    let offset = 0;
    const bad = (problem: string): Mp4Check => ({ complete: false, problem, boxes });
    while (offset < size) {
      if (size - offset < 8)
        return bad(`it ends with ${size - offset} stray bytes after its last box`);
      const { bytesRead } = await handle.read(header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString("latin1", 4, 8);
      if (!TYPE.test(type)) return bad(`it has damaged data at byte ${offset} (not an MP4 box)`);
      let headerSize = 8;
      if (boxSize === 1) {
        if (bytesRead < 16) return bad(`it ends inside the header of its ${type} box`);
        boxSize = Number(header.readBigUInt64BE(8));
        headerSize = 16;
      } else if (boxSize === 0) {
        boxSize = size - offset; // "extends to the end of the file"
      }
      if (boxSize < headerSize)
        return bad(`its ${type} box at byte ${offset} has an impossible size`);
      boxes.push(type);
      if (offset + boxSize > size) {
        const have = (size - offset).toLocaleString("en");
        return bad(
          `it ends inside its ${type} box: ${have} of ${boxSize.toLocaleString("en")} bytes are there`,
        );
      }
      offset += boxSize;
    }
    if (!boxes.includes("moov")) return bad("it has no moov box (the index of its frames)");
    if (!boxes.includes("mdat") && !boxes.includes("moof")) return bad("it holds no media data");
    return { complete: true, boxes };
  } finally {
    await handle.close();
  }
}

/** Whether ffmpeg's container name is the MP4/MOV family (the only one checkMp4 understands). */
export function isMp4Family(container: string): boolean {
  return /\b(mov|mp4)\b/.test(container);
}
