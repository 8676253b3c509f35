/**
 * The churn driver and the staleness probe on a worker thread of their own, so nothing the
 * benchmark's main thread does (parsing a dnsperf log of a million lines, reading /proc)
 * ever stalls the churn or delays a staleness sample.
 *
 * Messages in: `{ type: "phase", name }` (attribute what follows to this phase), `{ type: "stop" }`.
 * Message out, after stop: a `ChurnReport`.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { sleep } from "../support/wait.js";
import { closeClient, connectClient } from "../support/zk-client.js";
import { benchRegistrations } from "./registry.js";
import { StalenessProbe, type StalenessSample } from "./staleness.js";
import { ChurnDriver } from "./zk-registry.js";

export interface ChurnWorkerOptions {
  readonly zkConnect: string;
  readonly services: number;
  readonly instances: number;
  readonly rate: number;
  readonly stableSlots: number;
  readonly samplesPerSecond: number;
  readonly dnsPort: number;
  readonly zone: string;
}

export interface ChurnPhase {
  readonly name: string;
  /** Seconds the phase lasted, on the worker's clock. */
  seconds: number;
  /** Replacements ZooKeeper acknowledged during it. */
  acked: number;
}

export interface ChurnReport {
  readonly type: "report";
  readonly phases: ChurnPhase[];
  readonly samples: StalenessSample[];
  readonly acked: number;
  readonly failed: number;
  readonly seconds: number;
}

type Message = { type: "phase"; name: string } | { type: "stop" };

/** Start the worker; `phase()` tags what follows, `stop()` ends the churn and returns the report. */
export function startChurnWorker(options: ChurnWorkerOptions) {
  // Workers do not inherit tsx's loader hooks (Node 20): register them, then load this file.
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: options });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (m: { type: string }) => {
      if (m.type === "started") resolve();
    });
  });
  return {
    ready,
    phase: (name: string) => worker.postMessage({ type: "phase", name } satisfies Message),
    async stop(): Promise<ChurnReport> {
      const report = new Promise<ChurnReport>((resolve, reject) => {
        worker.once("error", reject);
        worker.on("message", (m: { type: string }) => {
          if (m.type === "report") resolve(m as ChurnReport);
        });
      });
      worker.postMessage({ type: "stop" } satisfies Message);
      const r = await report;
      await worker.terminate();
      return r;
    },
    terminate: () => worker.terminate(),
  };
}

async function runWorker(port: NonNullable<typeof parentPort>, o: ChurnWorkerOptions) {
  const client = await connectClient(o.zkConnect);
  const probe = new StalenessProbe({ port: o.dnsPort, zone: o.zone });
  await probe.start();
  const phases: ChurnPhase[] = [];
  let current: { phase: ChurnPhase; start: number; acked: number } | undefined;
  const every = Math.max(1, Math.round(o.rate / o.samplesPerSecond));
  let seen = 0;
  const churn = new ChurnDriver(client, benchRegistrations(o.services, o.instances), {
    rate: o.rate,
    stableSlots: o.stableSlots,
    onReplaced: (r) => {
      if (++seen % every === 0) probe.track(r, current?.phase.name ?? "");
    },
  });
  const closePhase = () => {
    if (!current) return;
    current.phase.seconds = (performance.now() - current.start) / 1000;
    current.phase.acked = churn.acked - current.acked;
    current = undefined;
  };
  const started = performance.now();
  churn.start();
  port.on("message", async (m: Message) => {
    if (m.type === "phase") {
      closePhase();
      const phase = { name: m.name, seconds: 0, acked: 0 };
      phases.push(phase);
      current = { phase, start: performance.now(), acked: churn.acked };
      return;
    }
    closePhase();
    const seconds = (performance.now() - started) / 1000;
    await churn.stop();
    // Let the samples in flight finish (each gives up after 10 s).
    const deadline = Date.now() + 11_000;
    while (probe.inProgress > 0 && Date.now() < deadline) await sleep(50);
    await probe.stop();
    await closeClient(client);
    port.postMessage({
      type: "report",
      phases,
      samples: probe.samples,
      acked: churn.acked,
      failed: churn.failed,
      seconds,
    } satisfies ChurnReport);
  });
  port.postMessage({ type: "started" });
}

if (parentPort && workerData) await runWorker(parentPort, workerData as ChurnWorkerOptions);
