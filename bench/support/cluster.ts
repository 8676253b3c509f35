/**
 * The simulated cluster every sync bench uses: `services` Services × `perService` endpoints
 * (one EndpointSlice each) in namespace `bench`, held in the in-process fake API server, plus
 * the model of each slice so a bench can change one endpoint and know what ZooKeeper and DNS
 * must show afterwards.
 */
import type { EndpointSpec } from "../../test/kubernetes/objects.js";
import { service, slice } from "../../test/kubernetes/objects.js";
import { FakeApiServer } from "../../test/support/fake-apiserver.js";
import { writeKubeconfig } from "../../test/support/kubeconfig.js";
import { BASE_PATH, ZONE } from "./bridge-defaults.js";
import { own } from "./cleanup.js";

export const NAMESPACE = "bench";

/** A distinct IPv4 address per serial (10.1.0.1, 10.1.0.2, …; no .0 or .255 octets). */
export function addressOf(serial: number): string {
  const d = (serial % 250) + 1;
  const c = Math.floor(serial / 250) % 250;
  const b = (Math.floor(serial / 62_500) % 250) + 1;
  return `10.${b}.${c}.${d}`;
}

/** The Kubernetes Service name of service `i`. */
export const serviceName = (i: number) => `svc-${i}`;
/** Its ZooKeeper service name under the default template `{service}.{namespace}`. */
export const registryName = (i: number) => `${serviceName(i)}.${NAMESPACE}`;
/** Its Curator parent znode. */
export const servicePath = (i: number) => `${BASE_PATH}/${registryName(i)}`;
/** Its DNS name (A records = its ready endpoints). */
export const dnsName = (i: number) => `${registryName(i)}.${ZONE}`;

export type ChangeKind = "replace" | "add" | "unready";

export interface AppliedChange {
  readonly service: number;
  readonly kind: ChangeKind;
  /** Sorted addresses DNS must answer for the service once the change has propagated. */
  readonly expected: string[];
  /** `performance.now()` just before the API server applied it. */
  readonly at: number;
}

export class SimulatedCluster {
  /** Per service, the slice's endpoints (ready and not). */
  private readonly slices: EndpointSpec[][] = [];
  private nextSerial: number;
  private nextPod = 0;

  private constructor(
    readonly api: FakeApiServer,
    readonly kubeconfig: string,
    readonly services: number,
    readonly perService: number,
  ) {
    this.nextSerial = services * perService;
  }

  /** Starts the fake API server (stopped by the bench's cleanup) and fills it. */
  static async start(services: number, perService: number): Promise<SimulatedCluster> {
    const api = await FakeApiServer.start({ historyLimit: 50_000 });
    own({ stop: () => api.close(), killNow: () => {} });
    const cluster = new SimulatedCluster(api, await writeKubeconfig(api.url), services, perService);
    for (let s = 0; s < services; s++) {
      api.apply(service(NAMESPACE, serviceName(s)));
      cluster.slices.push(
        Array.from({ length: perService }, (_, e) => ({
          address: addressOf(s * perService + e),
          pod: `${serviceName(s)}-p${e}`,
        })),
      );
      cluster.applySlice(s);
    }
    return cluster;
  }

  /** Endpoints registered in all (every endpoint is ready at the start). */
  get total(): number {
    return this.services * this.perService;
  }

  /** Sorted ready addresses of service `s` (what its DNS A answer must be). */
  readyAddresses(s: number): string[] {
    return (this.slices[s] ?? [])
      .filter((e) => e.ready !== false)
      .map((e) => e.address)
      .sort();
  }

  /**
   * Applies one endpoint change to service `s` that changes its set of registered instances
   * (so it is visible as a child change in ZooKeeper and in the A answer), keeping about
   * `perService` ready: replace one endpoint by a new pod, add one, or mark one not ready.
   */
  change(s: number, random: () => number): AppliedChange {
    const eps = this.slices[s];
    if (!eps) throw new Error(`no service ${s}`);
    // Endpoints marked not ready by an earlier change leave the slice now (no ZooKeeper effect).
    const ready = eps.filter((e) => e.ready !== false);
    let kind: ChangeKind;
    if (ready.length > this.perService) kind = "unready";
    else if (ready.length < this.perService) kind = "add";
    else kind = (["replace", "add", "unready"] as const)[Math.floor(random() * 3)] ?? "replace";
    const victim = Math.floor(random() * ready.length);
    const fresh = () => ({
      address: addressOf(this.nextSerial++),
      pod: `${serviceName(s)}-q${this.nextPod++}`,
    });
    if (kind === "replace") ready[victim] = fresh();
    else if (kind === "add") ready.push(fresh());
    else if (ready[victim]) ready[victim] = { ...ready[victim], ready: false };
    this.slices[s] = ready;
    const expected = this.readyAddresses(s);
    const at = performance.now();
    this.applySlice(s);
    return { service: s, kind, expected, at };
  }

  private applySlice(s: number): void {
    this.api.apply(
      slice(NAMESPACE, `${serviceName(s)}-abcde`, serviceName(s), {
        endpoints: this.slices[s] ?? [],
      }),
    );
  }
}
