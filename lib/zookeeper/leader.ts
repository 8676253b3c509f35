/**
 * Leader election among replicas, ZooKeeper's standard recipe: each candidate holds an
 * EPHEMERAL_SEQUENTIAL node under `/kube-zk-bridge/<cluster>/leader`; the lowest sequence leads;
 * every other candidate watches only its predecessor (no herd on change).
 *
 * Leadership is tied to the session: while disconnected the leader stops writing (it cannot
 * know whether its session still holds), and after expiry it must win a new election.
 */
import { EventEmitter } from "node:events";
import zookeeper from "node-zookeeper-client";
import { Backoff } from "../backoff.js";
import type { Logger } from "../log.js";
import { ZkError } from "./errors.js";
import type { ZkSession } from "./session.js";

const PREFIX = "n_";

export interface LeaderElectionOptions {
  readonly session: ZkSession;
  readonly clusterName: string;
  readonly logger: Logger;
  /**
   * Who this replica is (the pod name), written into its candidate node. A candidate of the same
   * identity under another session is this replica's own crashed predecessor: it is removed at
   * once, so a restarted pod leads again without waiting for the old session to expire.
   */
  readonly identity: string;
}

interface LeaderEvents {
  /** Leadership gained (true) or lost (false). */
  change: [leader: boolean];
}

export class LeaderElection extends EventEmitter<LeaderEvents> {
  private readonly dir: string;
  private candidate: string | undefined;
  private candidateSession: string | undefined;
  private leading = false;
  private stopped = true;
  private running: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
  /** One stable watcher: the library dedupes watchers by function identity. */
  private readonly watcher = () => this.schedule();
  private readonly onState = () => this.schedule();
  private readonly onSession = () => this.schedule();

  constructor(private readonly opts: LeaderElectionOptions) {
    super();
    this.dir = `/kube-zk-bridge/${opts.clusterName}/leader`;
  }

  /** True only while connected with the session that won the election. */
  isLeader(): boolean {
    return (
      this.leading &&
      this.opts.session.state === "connected" &&
      this.opts.session.sessionId === this.candidateSession
    );
  }

  /**
   * Names the current leadership term (session and election node) while leading. Losing and
   * regaining the lead with the same term means nobody else led in between: our election node
   * stayed first all along.
   */
  term(): string | undefined {
    return this.isLeader() ? `${this.candidateSession}/${this.candidate}` : undefined;
  }

  start(): void {
    this.stopped = false;
    this.opts.session.on("state", this.onState);
    this.opts.session.on("session", this.onSession);
    this.schedule();
  }

  /** Leaves the election (deletes the candidate node) so another replica takes over at once. */
  async resign(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.opts.session.off("state", this.onState);
    this.opts.session.off("session", this.onSession);
    await this.running;
    this.setLeading(false);
    const node = this.candidate;
    this.candidate = undefined;
    if (node && this.opts.session.sessionId === this.candidateSession) {
      await this.opts.session.remove(`${this.dir}/${node}`, -1).catch(() => undefined);
    }
  }

  /** Other candidates still in the election (for a graceful handover). */
  async otherCandidates(): Promise<number> {
    const all = await this.opts.session.getChildren(this.dir).catch(() => [] as string[]);
    return all.filter((c) => c !== this.candidate).length;
  }

  private schedule(delayMs = 0): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.running = this.running.then(() => this.check());
    }, delayMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.opts.logger.info({ leader: leading }, leading ? "became leader" : "no longer leader");
    this.emit("change", leading);
  }

  private async removePredecessorOfSameIdentity(): Promise<void> {
    const { session } = this.opts;
    for (const child of await session.getChildren(this.dir)) {
      const path = `${this.dir}/${child}`;
      const node = await session.getData(path).catch(() => undefined);
      if (!node || node.data.toString() !== this.opts.identity) continue;
      if (node.stat.ephemeralOwner.toString("hex") === session.sessionId) continue;
      this.opts.logger.info(
        { path },
        "removing the election node of this replica's previous incarnation",
      );
      await session.remove(path, node.stat.version).catch(() => undefined);
    }
  }

  private async check(): Promise<void> {
    const { session } = this.opts;
    if (this.stopped) return;
    if (session.state !== "connected") {
      this.setLeading(false); // cannot know if our session still holds: stop writing at once
      return;
    }
    try {
      if (!this.candidate || this.candidateSession !== session.sessionId) {
        this.setLeading(false);
        await session.mkdirp(this.dir);
        await this.removePredecessorOfSameIdentity();
        const path = await session.create(
          `${this.dir}/${PREFIX}`,
          Buffer.from(this.opts.identity),
          zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
        );
        this.candidate = path.slice(this.dir.length + 1);
        this.candidateSession = session.sessionId;
      }
      const others = (await session.getChildren(this.dir))
        .filter((c) => c.startsWith(PREFIX))
        .sort();
      const index = others.indexOf(this.candidate);
      if (index < 0) {
        this.candidate = undefined; // our node is gone (deleted by an operator?): re-enter
        this.schedule();
        return;
      }
      if (index === 0) {
        this.setLeading(true);
      } else {
        this.setLeading(false);
        // Watch the predecessor; if it vanished between the two calls, look again.
        const stat = await session.exists(`${this.dir}/${others[index - 1]}`, this.watcher);
        if (!stat) this.schedule();
      }
      this.backoff.reset();
    } catch (err) {
      const delay = this.backoff.next();
      if (!(err instanceof ZkError && err.transient)) {
        this.opts.logger.warn({ err: (err as Error).message }, "leader election failed; retrying");
      }
      this.schedule(delay);
    }
  }
}
