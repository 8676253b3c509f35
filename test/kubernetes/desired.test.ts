/**
 * The pure Kubernetes → ZooKeeper mapping, as a table: slim objects in, registrations out.
 * Each registration is written `format parent/id address:port state` to keep rows readable;
 * `check` rows pin the other fields.
 */
import { describe, expect, it } from "vitest";
import {
  type DesiredInput,
  type DesiredOptions,
  desiredRegistrations,
  endpointState,
  templateProblem,
} from "../../lib/kubernetes/desired.js";
import type {
  SlimEndpoint,
  SlimEndpoints,
  SlimNode,
  SlimService,
  SlimServicePort,
} from "../../lib/kubernetes/objects.js";
import { type DesiredRegistration, META } from "../../lib/registration.js";

const A = "kube-zk-bridge.io/";

function svc(
  name: string,
  opts: {
    ns?: string;
    ann?: Record<string, string>;
    ports?: SlimServicePort[];
    ipFamilies?: string[];
  } = {},
): SlimService {
  return {
    namespace: opts.ns ?? "shop",
    name,
    annotations: Object.fromEntries(
      Object.entries(opts.ann ?? {}).map(([k, v]) => [`${A}${k}`, v]),
    ),
    ports: opts.ports ?? [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
    type: "ClusterIP",
    ipFamilies: opts.ipFamilies ?? ["IPv4"],
  };
}

function ep(
  address: string,
  opts: Partial<Omit<SlimEndpoint, "address" | "family">> & { pod?: string } = {},
): SlimEndpoint {
  const { pod, ...rest } = opts;
  return {
    address,
    family: address.includes(":") ? 6 : 4,
    ...(pod ? { targetRef: { kind: "Pod", name: pod } } : {}),
    ...rest,
  };
}

function eps(
  service: string,
  endpoints: SlimEndpoint[],
  opts: { ns?: string; name?: string; ports?: Array<{ name: string; port: number }> } = {},
): SlimEndpoints {
  return {
    namespace: opts.ns ?? "shop",
    name: opts.name ?? `${service}-abcde`,
    service,
    groups: [
      {
        ports: (opts.ports ?? [{ name: "http", port: 8080 }]).map((p) => ({
          ...p,
          protocol: "TCP",
        })),
        endpoints,
      },
    ],
  };
}

const OPTIONS: DesiredOptions = {
  clusterName: "prod",
  serviceNameTemplate: "{service}.{namespace}",
  defaultFormats: ["curator"],
  basePath: "/services",
  serversetBasePath: "/serversets",
};

/** Fields to match; `metadata` keys to match; `absent` metadata keys that must not be there. */
type Check = Omit<Partial<DesiredRegistration>, "metadata"> & {
  metadata?: Record<string, string>;
  absent?: string[];
};

interface Row {
  title: string;
  services: SlimService[];
  endpoints?: SlimEndpoints[];
  nodes?: SlimNode[];
  options?: Partial<DesiredOptions>;
  want: string[];
  /** Further checks on the registrations, by `format parent/id`. */
  check?: Record<string, Check>;
  /** Each warning must match one of these, in order. */
  warnings?: RegExp[];
}

function short(r: DesiredRegistration): string {
  return `${r.format} ${r.parent}/${r.id} ${r.address.includes(":") ? `[${r.address}]` : r.address}:${r.port} ${r.draining ? "draining" : "up"}`;
}

const rows: Row[] = [
  {
    title: "one ready endpoint with a pod becomes one curator registration",
    services: [svc("web")],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "web-1", nodeName: "n1", zone: "z1" })])],
    want: ["curator /services/web.shop/web-1 10.0.0.1:8080 up"],
    check: {
      "curator /services/web.shop/web-1": {
        service: "web.shop",
        ports: { http: 8080 },
        draining: false,
        metadata: {
          [META.cluster]: "prod",
          [META.namespace]: "shop",
          [META.kubeService]: "web",
          [META.pod]: "web-1",
          [META.node]: "n1",
          [META.zone]: "z1",
          [META.status]: "UP",
          "port.http": "8080",
        },
      },
    },
  },
  {
    title: "a Service without endpoints has no registrations, and no warning",
    services: [svc("web"), svc("headless", { ports: [] })],
    want: [],
  },
  {
    title: "register: false skips the Service",
    services: [
      svc("web", { ann: { register: "false" } }),
      svc("api", { ann: { register: "TRUE" } }),
    ],
    endpoints: [eps("web", [ep("10.0.0.1")]), eps("api", [ep("10.0.0.2")])],
    want: ["curator /services/api.shop/10-0-0-2 10.0.0.2:8080 up"],
  },
  {
    title: "no targetRef: the id is the address with dots replaced",
    services: [svc("web")],
    endpoints: [eps("web", [ep("10.0.0.7")])],
    want: ["curator /services/web.shop/10-0-0-7 10.0.0.7:8080 up"],
    check: { "curator /services/web.shop/10-0-0-7": { absent: [META.pod] } },
  },
  {
    title: "ready absent counts as ready; not ready and not terminating is absent",
    services: [svc("web")],
    endpoints: [
      eps("web", [
        ep("10.0.0.1", { pod: "a" }),
        ep("10.0.0.2", { pod: "b", ready: true }),
        ep("10.0.0.3", { pod: "c", ready: false, serving: false, terminating: false }),
        ep("10.0.0.4", { pod: "d", ready: false, serving: true, terminating: false }),
        ep("10.0.0.5", { pod: "e", ready: false, serving: false, terminating: true }),
      ]),
    ],
    want: [
      "curator /services/web.shop/a 10.0.0.1:8080 up",
      "curator /services/web.shop/b 10.0.0.2:8080 up",
    ],
  },
  {
    title: "serving and terminating is draining, marked OUT_OF_SERVICE",
    services: [svc("web")],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a", ready: false, serving: true, terminating: true })]),
    ],
    want: ["curator /services/web.shop/a 10.0.0.1:8080 draining"],
    check: {
      "curator /services/web.shop/a": {
        draining: true,
        metadata: { [META.status]: "OUT_OF_SERVICE" },
      },
    },
  },
  {
    title: "the name annotation beats the template",
    services: [svc("web", { ann: { name: "legacy-web" } })],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    want: ["curator /services/legacy-web/a 10.0.0.1:8080 up"],
  },
  {
    title: "template placeholders {service} {namespace} {cluster}",
    services: [svc("web")],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    options: { serviceNameTemplate: "{cluster}-{namespace}-{service}" },
    want: ["curator /services/prod-shop-web/a 10.0.0.1:8080 up"],
  },
  {
    title: "both formats: one registration per format, each in its own tree",
    services: [svc("web", { ann: { format: "serverset, curator" } })],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    want: [
      "curator /services/web.shop/a 10.0.0.1:8080 up",
      "serverset /serversets/web.shop/a 10.0.0.1:8080 up",
    ],
  },
  {
    title: "serverset-path sets the serverset parent; curator keeps its own",
    services: [
      svc("web", { ann: { format: "curator,serverset", "serverset-path": "/aurora/prod/web" } }),
    ],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    want: [
      "curator /services/web.shop/a 10.0.0.1:8080 up",
      "serverset /aurora/prod/web/a 10.0.0.1:8080 up",
    ],
  },
  {
    title: "the default format option applies without an annotation",
    services: [svc("web")],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    options: { defaultFormats: ["serverset"], serversetBasePath: "/finagle/" },
    want: ["serverset /finagle/web.shop/a 10.0.0.1:8080 up"],
  },
  {
    title: "multi-port: first spec port is primary, every named port listed",
    services: [
      svc("web", {
        ports: [
          { name: "http", port: 80, targetPort: "web", protocol: "TCP" },
          { name: "admin", port: 9000, targetPort: 9090, protocol: "TCP" },
        ],
      }),
    ],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a" })], {
        ports: [
          { name: "admin", port: 9090 },
          { name: "http", port: 8080 },
        ],
      }),
    ],
    want: ["curator /services/web.shop/a 10.0.0.1:8080 up"],
    check: {
      "curator /services/web.shop/a": {
        ports: { http: 8080, admin: 9090 },
        metadata: { "port.admin": "9090" },
      },
    },
  },
  {
    title: "the port annotation picks the primary port by name",
    services: [
      svc("web", {
        ann: { port: "admin" },
        ports: [
          { name: "http", port: 80, protocol: "TCP" },
          { name: "admin", port: 9000, protocol: "TCP" },
        ],
      }),
    ],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a" })], {
        ports: [
          { name: "http", port: 8080 },
          { name: "admin", port: 9090 },
        ],
      }),
    ],
    want: ["curator /services/web.shop/a 10.0.0.1:9090 up"],
  },
  {
    title: "an unnamed single port is the primary port, and is not listed in ports",
    services: [svc("web", { ports: [{ name: "", port: 80, protocol: "TCP" }] })],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })], { ports: [{ name: "", port: 8080 }] })],
    want: ["curator /services/web.shop/a 10.0.0.1:8080 up"],
    check: { "curator /services/web.shop/a": { ports: {} } },
  },
  {
    title: "a slice without the primary port's name is skipped with a warning",
    services: [svc("web")],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a" })], { ports: [{ name: "grpc", port: 9000 }] }),
    ],
    want: [],
    warnings: [/without a port named "http"/],
  },
  {
    title: "address: node registers the node's InternalIP with the NodePorts",
    services: [
      svc("web", {
        ann: { address: "node" },
        ports: [
          { name: "http", port: 80, nodePort: 30080, protocol: "TCP" },
          { name: "admin", port: 90, nodePort: 30090, protocol: "TCP" },
        ],
      }),
    ],
    endpoints: [
      eps("web", [
        ep("10.0.0.1", { pod: "a", nodeName: "n1" }),
        ep("10.0.0.2", { nodeName: "n2" }),
        ep("10.0.0.3", { pod: "c", nodeName: "gone" }),
      ]),
    ],
    nodes: [
      { name: "n1", internalIPv4: "192.168.1.1" },
      { name: "n2", internalIPv4: "192.168.1.2" },
    ],
    want: [
      "curator /services/web.shop/10-0-0-2 192.168.1.2:30080 up",
      "curator /services/web.shop/a 192.168.1.1:30080 up",
    ],
    check: {
      "curator /services/web.shop/a": {
        ports: { http: 30080, admin: 30090 },
        metadata: { [META.node]: "n1" },
      },
    },
    warnings: [/unknown nodes/],
  },
  {
    title: "address: node without a NodePort bridges nothing, with a warning",
    services: [svc("web", { ann: { address: "node" } })],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a", nodeName: "n1" })])],
    nodes: [{ name: "n1", internalIPv4: "192.168.1.1" }],
    want: [],
    warnings: [/needs a NodePort/],
  },
  {
    title: "dual stack: the IPv6 registration gets -v6 so ids stay unique",
    services: [svc("web", { ipFamilies: ["IPv4", "IPv6"] })],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a" })], { name: "web-v4" }),
      eps("web", [ep("fd00::1", { pod: "a" })], { name: "web-v6" }),
    ],
    want: [
      "curator /services/web.shop/a 10.0.0.1:8080 up",
      "curator /services/web.shop/a-v6 [fd00::1]:8080 up",
    ],
  },
  {
    title: "dual stack by spec keeps the -v6 suffix while the IPv4 slice is empty",
    services: [svc("web", { ipFamilies: ["IPv4", "IPv6"] })],
    endpoints: [eps("web", [ep("fd00::1")], { name: "web-v6" })],
    want: ["curator /services/web.shop/fd00--1-v6 [fd00::1]:8080 up"],
  },
  {
    title: "single-stack IPv6: no suffix",
    services: [svc("web", { ipFamilies: ["IPv6"] })],
    endpoints: [eps("web", [ep("fd00::1", { pod: "a" })])],
    want: ["curator /services/web.shop/a [fd00::1]:8080 up"],
  },
  {
    title: "the same endpoint in two slices (a slice move) is one registration, ready wins",
    services: [svc("web")],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a", ready: false, serving: true, terminating: true })], {
        name: "web-aaaaa",
      }),
      eps("web", [ep("10.0.0.1", { pod: "a" })], { name: "web-bbbbb" }),
    ],
    want: ["curator /services/web.shop/a 10.0.0.1:8080 up"],
  },
  {
    title: "ttl and weight annotations",
    services: [svc("web", { ann: { ttl: "2m", weight: "7" } }), svc("api", { ann: { ttl: "45" } })],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a" })]),
      eps("api", [ep("10.0.0.2", { pod: "b" })]),
    ],
    want: [
      "curator /services/api.shop/b 10.0.0.2:8080 up",
      "curator /services/web.shop/a 10.0.0.1:8080 up",
    ],
    check: {
      "curator /services/web.shop/a": {
        weight: 7,
        metadata: { [META.ttl]: "120", [META.weight]: "7" },
      },
      "curator /services/api.shop/b": { metadata: { [META.ttl]: "45" } },
    },
  },
  {
    title: "invalid annotations are ignored one by one with a warning each; the Service stays",
    services: [
      svc("web", {
        ann: {
          weight: "heavy",
          ttl: "1.5s",
          format: "zookeeper",
          address: "elsewhere",
          register: "maybe",
          name: "no/slash",
          port: "grpc",
          "serverset-path": "relative/path",
          fromat: "curator",
        },
      }),
    ],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    want: ["curator /services/web.shop/a 10.0.0.1:8080 up"],
    check: {
      "curator /services/web.shop/a": {
        absent: [META.ttl, META.weight],
      },
    },
    warnings: [
      /fromat: unknown annotation/,
      /register "maybe"/,
      /name "no\/slash"/,
      /format "zookeeper"/,
      /serverset-path "relative\/path"/,
      /address "elsewhere"/,
      /ttl "1.5s"/,
      /weight "heavy"/,
      /port "grpc".*no port of that name/,
    ],
  },
  {
    title: "weight out of range is invalid",
    services: [svc("web", { ann: { weight: "65536" } })],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    want: ["curator /services/web.shop/a 10.0.0.1:8080 up"],
    warnings: [/weight "65536"/],
  },
  {
    title:
      "a serverset-path inside the curator tree is refused (Curator readers must never meet member_ nodes)",
    services: [svc("web", { ann: { format: "serverset", "serverset-path": "/services/web" } })],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    want: ["serverset /serversets/web.shop/a 10.0.0.1:8080 up"],
    warnings: [/inside the curator tree/],
  },
  {
    title: "a template that renders an unusable name skips the Service with a warning",
    services: [svc("web")],
    endpoints: [eps("web", [ep("10.0.0.1", { pod: "a" })])],
    options: { serviceNameTemplate: "{namespace}/{service}" },
    want: [],
    warnings: [/"shop\/web" from the template/],
  },
  {
    title: "endpoints only match their own Service and namespace",
    services: [svc("web"), svc("web", { ns: "bank" })],
    endpoints: [
      eps("web", [ep("10.0.0.1", { pod: "a" })], { ns: "bank" }),
      eps("orphan", [ep("10.0.0.9")]),
    ],
    want: ["curator /services/web.bank/a 10.0.0.1:8080 up"],
  },
  {
    title: "core/v1 Endpoints: several subsets, ready and not-ready addresses",
    services: [svc("web")],
    endpoints: [
      {
        namespace: "shop",
        name: "web",
        service: "web",
        groups: [
          {
            ports: [{ name: "http", port: 8080, protocol: "TCP" }],
            endpoints: [
              ep("10.0.0.1", { pod: "a", ready: true }),
              ep("10.0.0.2", { pod: "b", ready: false }),
            ],
          },
          {
            ports: [{ name: "http", port: 8081, protocol: "TCP" }],
            endpoints: [ep("10.0.0.3", { pod: "c", ready: true })],
          },
        ],
      },
    ],
    want: [
      "curator /services/web.shop/a 10.0.0.1:8080 up",
      "curator /services/web.shop/c 10.0.0.3:8081 up",
    ],
  },
];

describe("desiredRegistrations", () => {
  it.each(rows)("$title", (row) => {
    const input: DesiredInput = {
      services: row.services,
      endpoints: row.endpoints ?? [],
      nodes: row.nodes ?? [],
    };
    const { registrations, warnings } = desiredRegistrations(input, { ...OPTIONS, ...row.options });
    expect(registrations.map(short)).toEqual(row.want);
    for (const [key, want] of Object.entries(row.check ?? {})) {
      const found = registrations.find((r) => `${r.format} ${r.parent}/${r.id}` === key);
      expect(found, key).toBeDefined();
      const { absent, ...fields } = want;
      expect(found).toMatchObject(fields);
      for (const k of absent ?? [])
        expect(found?.metadata, `${key} metadata`).not.toHaveProperty(k);
    }
    expect(warnings.map((w) => w.message)).toHaveLength((row.warnings ?? []).length);
    warnings.forEach((w, i) => {
      expect(w.message).toMatch(row.warnings?.[i] ?? /^$/);
    });
  });

  it("pins one registration field for field", () => {
    const { registrations } = desiredRegistrations(
      {
        services: [svc("web", { ann: { weight: "3" } })],
        endpoints: [eps("web", [ep("10.0.0.1", { pod: "web-1", nodeName: "n1" })])],
        nodes: [],
      },
      OPTIONS,
    );
    expect(registrations).toEqual([
      {
        format: "curator",
        parent: "/services/web.shop",
        service: "web.shop",
        id: "web-1",
        address: "10.0.0.1",
        port: 8080,
        ports: { http: 8080 },
        metadata: {
          "kube-zk-bridge.io/cluster": "prod",
          "k8s.namespace": "shop",
          "k8s.service": "web",
          "k8s.pod": "web-1",
          "k8s.node": "n1",
          instance_status: "UP",
          "port.http": "8080",
          weight: "3",
        },
        draining: false,
        weight: 3,
      },
    ]);
  });

  it("orders output by key whatever the input order", () => {
    const services = [svc("b"), svc("a", { ann: { format: "serverset,curator" } })];
    const endpoints = [eps("b", [ep("10.0.0.2"), ep("10.0.0.1")]), eps("a", [ep("10.0.0.3")])];
    const one = desiredRegistrations({ services, endpoints, nodes: [] }, OPTIONS).registrations.map(
      short,
    );
    const two = desiredRegistrations(
      { services: [...services].reverse(), endpoints: [...endpoints].reverse(), nodes: [] },
      OPTIONS,
    ).registrations.map(short);
    expect(one).toEqual(two);
    expect(one).toEqual([
      "curator /services/a.shop/10-0-0-3 10.0.0.3:8080 up",
      "curator /services/b.shop/10-0-0-1 10.0.0.1:8080 up",
      "curator /services/b.shop/10-0-0-2 10.0.0.2:8080 up",
      "serverset /serversets/a.shop/10-0-0-3 10.0.0.3:8080 up",
    ]);
  });

  it("does not share mutable objects between registrations", () => {
    const { registrations } = desiredRegistrations(
      {
        services: [svc("web", { ann: { format: "curator,serverset" } })],
        endpoints: [eps("web", [ep("10.0.0.1")])],
        nodes: [],
      },
      OPTIONS,
    );
    const [a, b] = registrations;
    expect(a?.metadata).not.toBe(b?.metadata);
    expect(a?.ports).not.toBe(b?.ports);
  });
});

describe("endpointState", () => {
  it.each([
    [{}, "up"],
    [{ ready: true }, "up"],
    [{ ready: true, terminating: true }, "up"],
    [{ ready: false }, undefined],
    [{ ready: false, serving: true }, undefined],
    [{ ready: false, serving: true, terminating: true }, "draining"],
    [{ ready: false, serving: false, terminating: true }, undefined],
  ] as const)("%o → %s", (conditions, want) => {
    expect(endpointState({ address: "10.0.0.1", family: 4, ...conditions })).toBe(want);
  });
});

describe("templateProblem", () => {
  it("accepts the placeholders and rejects unknown ones or unusable names", () => {
    expect(templateProblem("{service}.{namespace}")).toBeUndefined();
    expect(templateProblem("{cluster}-{service}")).toBeUndefined();
    expect(templateProblem("{service}.{ns}")).toMatch(/unknown placeholder \{ns\}/);
    expect(templateProblem("{namespace}/{service}")).toMatch(/renders names like "ns\/svc"/);
  });
});
