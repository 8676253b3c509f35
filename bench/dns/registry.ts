/**
 * A generated registry for DNS benchmarks: N services × M instances, the same snapshot for
 * the bridge and, as a zone file, for NSD; plus the dnsperf query mix.
 */
import { formatRecord, type ResourceRecord } from "../../lib/dns/records.js";
import { buildSnapshot, type Snapshot } from "../../lib/dns/snapshot.js";
import type { Registration } from "../../lib/registration.js";
import { ZONE } from "../support/bridge-defaults.js";

export function benchRegistrations(services: number, instances: number): Registration[] {
  const out: Registration[] = [];
  for (let s = 0; s < services; s++) {
    for (let i = 0; i < instances; i++) {
      const n = s * instances + i;
      out.push({
        service: `svc-${s}.bench`,
        id: `svc-${s}-${i}`,
        address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        port: 8080,
        ports: { http: 8080 },
        metadata: { instance_status: "UP", version: "1.0" },
        draining: false,
      });
    }
  }
  return out;
}

export function benchSnapshot(services: number, instances: number): Snapshot {
  return buildSnapshot(benchRegistrations(services, instances), {
    zone: ZONE,
    ttl: 5,
    serial: 1,
  });
}

/** Every record of the snapshot as an RFC 1035 zone file (what NSD serves). */
export function zoneFile(snapshot: Snapshot): string {
  const rrs: ResourceRecord[] = [snapshot.zone.soa, ...snapshot.zone.ns];
  for (const svc of snapshot.services.values()) {
    rrs.push(...svc.a, ...svc.aaaa, ...svc.srv);
    for (const inst of svc.instances.values()) rrs.push(...inst.a, ...inst.aaaa, ...inst.txt);
    for (const name of svc.portNames) rrs.push(...(svc.port(name)?.srv ?? []));
  }
  // NSD wants an address for an in-zone NS target; never queried.
  const glue = `${snapshot.zone.ns[0]?.target} 5 IN A 127.0.0.1`;
  return `$TTL 5\n${[...rrs.map(formatRecord), glue].join("\n")}\n`;
}

/**
 * A deterministic query mix, one `name TYPE` per line (dnsperf's input format). Instance
 * queries name one of the first `instanceSlots` instances of a service (default all).
 */
export function queryFile(
  services: number,
  instances: number,
  lines: number,
  instanceSlots = instances,
): string {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const out: string[] = [];
  for (let k = 0; k < lines; k++) {
    const s = rand(services);
    const i = rand(instanceSlots);
    const svc = `svc-${s}.bench.zk.internal`;
    const r = rand(100);
    if (r < 40) out.push(`${svc} A`);
    else if (r < 60) out.push(`${svc} SRV`);
    else if (r < 70) out.push(`_http._tcp.${svc} SRV`);
    else if (r < 90) out.push(`svc-${s}-${i}.${svc} A`);
    else if (r < 95) out.push(`svc-${s}-${i}.${svc} TXT`);
    else out.push(`missing-${rand(1000)}.bench.zk.internal A`);
  }
  return `${out.join("\n")}\n`;
}
