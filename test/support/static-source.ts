import type { DesiredRegistration } from "../../lib/registration.js";
import type { DesiredSource } from "../../lib/sync/syncer.js";

/** An in-memory DesiredSource: the desired state is whatever the test sets. */
export class StaticSource implements DesiredSource {
  private listeners: Array<() => void> = [];
  constructor(
    private state: DesiredRegistration[] = [],
    private isSynced = true,
  ) {}
  set(state: DesiredRegistration[], synced = true): void {
    this.state = [...state]; // a new group identity on every set, even for the same array
    this.isSynced = synced;
    for (const l of this.listeners) l();
  }
  /** One group: every `set()` is a new array, so the syncer replans all of it. */
  desiredByService(): ReadonlyMap<string, readonly DesiredRegistration[]> {
    return new Map([["static", this.state]]);
  }
  synced(): boolean {
    return this.isSynced;
  }
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }
}
