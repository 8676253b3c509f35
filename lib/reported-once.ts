/**
 * What has been logged about each key, so bad input is reported once per key and reason, not
 * on every pass over it. Bounded: past `max` keys it starts afresh, and may repeat itself.
 */
export class ReportedOnce {
  private readonly reasons = new Map<string, string>();

  constructor(private readonly max: number) {}

  /** True when `reason` is new for `key` (then it is remembered): the caller logs and counts. */
  first(key: string, reason = ""): boolean {
    if (this.reasons.get(key) === reason) return false;
    if (this.reasons.size >= this.max) this.reasons.clear();
    this.reasons.set(key, reason);
    return true;
  }

  /** `key` is fine again: a later problem with it is reported anew. */
  forget(key: string): void {
    this.reasons.delete(key);
  }
}
