/** Raw API JSON → slim objects: only what mapping needs, garbage rejected or dropped. */
import { describe, expect, it } from "vitest";
import {
  MalformedObjectError,
  slimEndpointSlice,
  slimEndpoints,
  slimNode,
  slimService,
} from "../../lib/kubernetes/objects.js";
import { endpoints, node, service, slice } from "./objects.js";

describe("slimService", () => {
  it("keeps namespace, name, our annotations, ports in spec order, type and families", () => {
    const raw = service("shop", "web", {
      type: "NodePort",
      ipFamilies: ["IPv4", "IPv6"],
      annotations: {
        "kube-zk-bridge.io/name": "w",
        "kubectl.kubernetes.io/last-applied-configuration": "{…}",
      },
      ports: [
        { name: "http", port: 80, targetPort: "web", nodePort: 30080 },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
    });
    expect(slimService(raw)).toEqual({
      namespace: "shop",
      name: "web",
      annotations: { "kube-zk-bridge.io/name": "w" },
      ports: [
        { name: "http", port: 80, targetPort: "web", nodePort: 30080, protocol: "TCP" },
        { name: "dns", port: 53, targetPort: 53, protocol: "UDP" },
      ],
      type: "NodePort",
      ipFamilies: ["IPv4", "IPv6"],
    });
  });

  it("treats a missing port name as the unnamed port and drops invalid ports", () => {
    const raw = service("shop", "web", { ports: [{ port: 80 }, { name: "bad", port: 70000 }] });
    expect(slimService(raw).ports).toEqual([
      { name: "", port: 80, targetPort: 80, protocol: "TCP" },
    ]);
  });

  it("rejects an object without a name or namespace", () => {
    expect(() => slimService({ metadata: { namespace: "x" } })).toThrow(MalformedObjectError);
    expect(() => slimService({ metadata: { name: "x" } })).toThrow(MalformedObjectError);
    expect(() => slimService(null)).toThrow(MalformedObjectError);
    expect(() => slimService("garbage")).toThrow(MalformedObjectError);
  });

  it("survives garbage inside a named object", () => {
    const s = slimService({
      metadata: { name: "x", namespace: "y", annotations: 5 },
      spec: { ports: "no" },
    });
    expect(s).toMatchObject({ name: "x", ports: [], annotations: {}, ipFamilies: [] });
  });
});

describe("slimEndpointSlice", () => {
  it("keeps the service label, ports and per-endpoint address, conditions, pod, node, zone", () => {
    const raw = slice("shop", "web-abc", "web", {
      ports: [{ name: "http", port: 8080 }],
      endpoints: [
        { address: "10.0.0.1", pod: "web-1", node: "n1", zone: "z1" },
        { address: "10.0.0.2", ready: false, serving: true, terminating: true },
        { address: "10.0.0.3", ready: null, serving: null, terminating: null },
      ],
    });
    expect(slimEndpointSlice(raw)).toEqual({
      namespace: "shop",
      name: "web-abc",
      service: "web",
      groups: [
        {
          ports: [{ name: "http", port: 8080, protocol: "TCP" }],
          endpoints: [
            {
              address: "10.0.0.1",
              family: 4,
              ready: true,
              serving: true,
              terminating: false,
              targetRef: { kind: "Pod", name: "web-1" },
              nodeName: "n1",
              zone: "z1",
            },
            { address: "10.0.0.2", family: 4, ready: false, serving: true, terminating: true },
            { address: "10.0.0.3", family: 4 },
          ],
        },
      ],
    });
  });

  it("reads IPv6 slices and skips FQDN slices and non-IP addresses", () => {
    const v6 = slimEndpointSlice(
      slice("shop", "a", "web", { addressType: "IPv6", endpoints: [{ address: "fd00::1" }] }),
    );
    expect(v6.groups[0]?.endpoints[0]).toEqual({
      address: "fd00::1",
      family: 6,
      ready: true,
      serving: true,
      terminating: false,
    });
    const fqdn = slimEndpointSlice(
      slice("shop", "b", "web", { addressType: "FQDN", endpoints: [{ address: "x.example" }] }),
    );
    expect(fqdn.groups).toEqual([]);
    const bad = slimEndpointSlice(
      slice("shop", "c", "web", { endpoints: [{ address: "not-an-ip" }] }),
    );
    expect(bad.groups[0]?.endpoints).toEqual([]);
  });
});

describe("slimEndpoints (core/v1)", () => {
  it("makes a group per subset; addresses are ready, notReadyAddresses are not", () => {
    const raw = endpoints("shop", "web", [
      {
        ports: [{ name: "http", port: 8080 }],
        ready: [{ ip: "10.0.0.1", pod: "a", node: "n1" }],
        notReady: [{ ip: "10.0.0.2" }],
      },
      { ports: [{ port: 9090 }], ready: [{ ip: "10.0.0.3" }] },
    ]);
    expect(slimEndpoints(raw)).toEqual({
      namespace: "shop",
      name: "web",
      service: "web",
      groups: [
        {
          ports: [{ name: "http", port: 8080, protocol: "TCP" }],
          endpoints: [
            {
              address: "10.0.0.1",
              family: 4,
              ready: true,
              targetRef: { kind: "Pod", name: "a" },
              nodeName: "n1",
            },
            { address: "10.0.0.2", family: 4, ready: false },
          ],
        },
        {
          ports: [{ name: "", port: 9090, protocol: "TCP" }],
          endpoints: [{ address: "10.0.0.3", family: 4, ready: true }],
        },
      ],
    });
  });
});

describe("slimNode", () => {
  it("keeps the first InternalIP of each family", () => {
    expect(slimNode(node("n1", ["192.168.0.1", "fd00::1", "192.168.0.2"]))).toEqual({
      name: "n1",
      internalIPv4: "192.168.0.1",
      internalIPv6: "fd00::1",
    });
    expect(slimNode(node("n2", []))).toEqual({ name: "n2" });
  });
});
