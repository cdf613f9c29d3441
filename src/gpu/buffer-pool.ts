/**
 * Reuses GPU buffers by size class so that a training step allocates nothing after its first run.
 * Sizes are rounded up to one of four classes per power of two (at most 25% waste).
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 1024) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Bytes held by live (handed out) buffers. */
  liveBytes = 0;
  /** Bytes held by free buffers waiting for reuse. */
  freeBytes = 0;

  constructor(private readonly create: (bytes: number) => GPUBuffer) {}

  acquire(bytes: number): GPUBuffer {
    const cls = sizeClass(bytes);
    const list = this.free.get(cls);
    const reused = list?.pop();
    if (reused) this.freeBytes -= cls;
    const buf = reused ?? this.create(cls);
    this.liveBytes += cls;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const cls = buf.size;
    this.liveBytes -= cls;
    this.freeBytes += cls;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(buf);
  }

  /** Destroys every free buffer (returns the memory to the driver). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.freeBytes = 0;
  }
}
