import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ffmpegReason } from "./ffmpeg.ts";
import { parseInputInfo, parseOutputInfo } from "./stream-info.ts";

const phoneClip = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mov':
  Metadata:
    major_brand     : qt
    creation_time   : 2024-05-01T10:00:00.000000Z
  Duration: 00:01:02.50, start: 0.000000, bitrate: 17000 kb/s
    Stream #0:0(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s (default)
    Stream #0:1(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080 [SAR 1:1 DAR 16:9], 16800 kb/s, 29.97 fps, 29.97 tbr, 600 tbn, 1200 tbc (default)
    Metadata:
      rotate          : 90
      creation_time   : 2024-05-01T10:00:00.000000Z
Stream mapping:
  Stream #0:1 -> #0:0 (h264 (native) -> rawvideo (native))
Output #0, rawvideo, to 'pipe:1':
  Metadata:
    major_brand     : qt
    Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24, 1080x1920 [SAR 1:1 DAR 9:16], q=2-31, 1492992 kb/s, 29.97 fps, 29.97 tbn, 29.97 tbc (default)
frame= 1873 fps=310 q=-0.0 Lsize=11650000kB time=00:01:02.49 bitrate=1527000.0kbits/s speed=10x
`;

describe("parseInputInfo", () => {
  it("reads size, fractional fps, duration and container metadata, ignoring stream metadata", () => {
    const info = parseInputInfo(phoneClip);
    assert.ok(info);
    assert.equal(info.container, "mov,mp4,m4a,3gp,3g2,mj2");
    assert.equal(info.width, 1920);
    assert.equal(info.height, 1080);
    assert.equal(info.fps, 29.97);
    assert.equal(info.duration, 62.5);
    assert.equal(info.codec, "h264 (High) (avc1 / 0x31637661)");
    assert.equal(info.metadata.major_brand, "qt");
    assert.equal(info.metadata.rotate, undefined);
  });

  it("falls back to tbr and understands the k suffix", () => {
    const gif = `Input #0, gif, from 'a.gif':
  Duration: N/A, bitrate: N/A
    Stream #0:0: Video: gif, bgra, 300x200, 1k tbr, 100 tbn, 100 tbc
`;
    const info = parseInputInfo(gif);
    assert.ok(info);
    assert.equal(info.fps, 1000);
    assert.ok(Number.isNaN(info.duration));
    assert.equal(info.width, 300);
  });

  it("returns null when there is no input listing or no video stream", () => {
    assert.equal(parseInputInfo("a.mp4: Invalid data found when processing input\n"), null);
    const audio = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.m4a':
  Duration: 00:00:00.20, start: 0.000000, bitrate: 70 kb/s
    Stream #0:0(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
`;
    assert.equal(parseInputInfo(audio), null);
  });
});

describe("parseOutputInfo", () => {
  it("reads the size ffmpeg writes (after autorotation)", () => {
    assert.deepEqual(parseOutputInfo(phoneClip), { width: 1080, height: 1920 });
    assert.equal(parseOutputInfo("nothing here"), null);
  });
});

describe("ffmpegReason", () => {
  it("picks the explaining line, not the progress line", () => {
    const stderr = `[mov,mp4 @ 0x1] moov atom not found\nx.mp4: Invalid data found when processing input\n`;
    assert.equal(ffmpegReason(stderr), "x.mp4: Invalid data found when processing input");
    assert.equal(ffmpegReason("frame=  1 fps=0\n"), "ffmpeg gave no reason");
  });
});
