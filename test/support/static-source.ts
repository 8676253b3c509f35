import type { DesiredGeneration } from "../../lib/kubernetes/desired-state.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import { ShardedMap } from "../../lib/sharded-map.js";
import type { DesiredSource } from "../../lib/sync/syncer.js";

/** An in-memory DesiredSource: the desired state is whatever the test sets. */
export class StaticSource implements DesiredSource {
  private listeners: Array<() => void> = [];
  private generation: DesiredGeneration | undefined;
  constructor(
    private state: DesiredRegistration[] = [],
    private isSynced = true,
  ) {}
  set(state: DesiredRegistration[], synced = true): void {
    this.state = [...state]; // a new group identity on every set, even for the same array
    this.isSynced = synced;
    for (const l of this.listeners) l();
  }
  /** One group, and no link back: the syncer replans everything after every `set()`. */
  desiredGeneration(): DesiredGeneration {
    if (this.generation?.groups.get("static") !== this.state) {
      this.generation = {
        groups: ShardedMap.empty<readonly DesiredRegistration[]>().with(
          new Map([["static", this.state]]),
        ),
        previous: undefined,
        changed: undefined,
      };
    }
    return this.generation;
  }
  synced(): boolean {
    return this.isSynced;
  }
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }
}
