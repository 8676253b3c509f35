/**
 * At most `limit` async jobs at once across all callers (ZooKeeper reads in flight). A full
 * read queues a job per znode, 100,000 of them; the queue is a FIFO with a moving head, since
 * `Array.shift` on an array that large copies it every time.
 */
export class Limiter {
  private active = 0;
  private waiting: ((() => void) | undefined)[] = [];
  private head = 0;

  constructor(private readonly limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await job();
    } finally {
      this.startNext();
    }
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Hands the finished job's slot to the longest waiting one, if any. */
  private startNext(): void {
    if (this.head === this.waiting.length) {
      this.active--;
      return;
    }
    const next = this.waiting[this.head];
    this.waiting[this.head++] = undefined;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head); // amortised: each entry moves at most once
      this.head = 0;
    }
    next?.();
  }
}
