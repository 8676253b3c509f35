/**
 * The registrations behind test/fixtures/*.json, and how the real Curator jar is asked to
 * write each Curator fixture. Shared by the encoder tests and the fixture check.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Registration } from "../../lib/registration.js";
import type { CuratorSerializeInput } from "../support/curator.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");

/** The exact bytes of one fixture file. */
export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export const REGISTRATION_TIME = 1_700_000_000_000;
const SPRING_URI_SPEC = "{scheme}://{address}:{port}";

/** A pod of Service `web` in namespace `shop`; metadata deliberately not in sorted order. */
export const web: Registration = {
  service: "web.shop",
  id: "web-7d4b9-abcde",
  address: "10.0.0.5",
  port: 8080,
  ports: { metrics: 9090, http: 8080 },
  metadata: {
    "kube-zk-bridge.io/cluster": "default",
    "k8s.service": "web",
    "k8s.namespace": "shop",
    "k8s.pod": "web-7d4b9-abcde",
  },
  draining: false,
  weight: 10,
};

/** An IPv6 endpoint that is terminating, with a metadata value that needs escaping. */
export const drainingV6: Registration = {
  service: "web.shop",
  id: "fd00--5",
  address: "fd00::5",
  port: 8080,
  ports: { grpc: 9000 },
  metadata: {
    note: 'tab\there "quoted" \\ é ✓ \u001b/',
    "kube-zk-bridge.io/cluster": "default",
    instance_status: "UP", // stale: the encoder must write OUT_OF_SERVICE
  },
  draining: true,
};

/** The same IPv6 endpoint as a ServerSet member: primary is its named `grpc` port. */
export const stoppingV6: Registration = { ...drainingV6, port: 9000, metadata: {} };

interface CuratorFixture {
  readonly file: string;
  readonly registration: Registration;
  readonly payload: "spring" | "none";
  readonly probe: CuratorSerializeInput;
}

/**
 * `file`, as the real Curator 5.4 jar writes `registration`'s instance (its service, id,
 * address and port, registered at REGISTRATION_TIME) with `payload` and what `writes` says.
 */
function curatorFixture(
  file: string,
  registration: Registration,
  payload: "spring" | "none",
  writes: Pick<CuratorSerializeInput, "uriSpec" | "metadata">,
): CuratorFixture {
  const { service: name, id, address, port } = registration;
  const instance = { name, id, address, port, registrationTimeUTC: REGISTRATION_TIME };
  return { file, registration, payload, probe: { payload, ...instance, ...writes } };
}

/** Each Curator fixture, and the arguments that make the real Curator 5.4 jar write it. */
export const curatorFixtures: readonly CuratorFixture[] = [
  curatorFixture("curator-spring.json", web, "spring", {
    uriSpec: SPRING_URI_SPEC,
    metadata: [
      ["instance_status", "UP"],
      ["k8s.namespace", "shop"],
      ["k8s.pod", "web-7d4b9-abcde"],
      ["k8s.service", "web"],
      ["kube-zk-bridge.io/cluster", "default"],
      ["port.http", "8080"],
      ["port.metrics", "9090"],
      ["weight", "10"],
    ],
  }),
  curatorFixture("curator-none.json", web, "none", { uriSpec: SPRING_URI_SPEC }),
  curatorFixture("curator-spring-ipv6-draining.json", drainingV6, "spring", {
    uriSpec: "{scheme}://[{address}]:{port}",
    metadata: [
      ["instance_status", "OUT_OF_SERVICE"],
      ["kube-zk-bridge.io/cluster", "default"],
      ["note", 'tab\there "quoted" \\ é ✓ \u001b/'],
      ["port.grpc", "9000"],
    ],
  }),
];

export const serverSetFixtures: readonly {
  file: string;
  registration: Registration;
  shard: number;
}[] = [
  { file: "serverset-member.json", registration: web, shard: 0 },
  { file: "serverset-member-ipv6-stopping.json", registration: stoppingV6, shard: 3 },
];
