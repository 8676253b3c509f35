/**
 * What a registry change costs the DNS side at 100,000 instances: a full snapshot build vs an
 * incremental rebuild after one service changed, and the first answers after the change.
 *
 *   node --import tsx bench/dns/snapshot.ts [services=10000] [instances=10]
 */
import { Responder } from "../../lib/dns/responder.js";
import { SnapshotBuilder } from "../../lib/dns/snapshot.js";
import type { Registration } from "../../lib/registration.js";
import { benchRegistrations } from "./registry.js";

const services = Number(process.argv[2] ?? 10_000);
const instances = Number(process.argv[3] ?? 10);
const regs = benchRegistrations(services, instances);
const byService = new Map<string, Registration[]>();
for (const r of regs) byService.set(r.service, [...(byService.get(r.service) ?? []), r]);

/** CPU milliseconds (user + system) spent in `f`: steadier than wall time on a shared machine. */
const time = (f: () => void) => {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
};

const builder = new SnapshotBuilder({ zone: "zk.internal.", ttl: 5 });
const full = time(() => {
  for (const [service, list] of byService) builder.setSource({ format: "curator", service }, list);
  builder.build();
});

const rounds = 50;
let incremental = 0;
for (let i = 0; i < rounds; i++) {
  const service = `svc-${i}.bench`;
  const list = byService.get(service) ?? [];
  const changed = list.map((r, j) => (j === 0 ? { ...r, draining: !r.draining } : r));
  byService.set(service, changed);
  incremental += time(() => {
    builder.setSource({ format: "curator", service }, changed);
    builder.build();
  });
}

const snapshot = builder.build();
const responder = new Responder({ zone: ["zk", "internal"], source: { current: () => snapshot } });
const q = Buffer.from(
  "abcd01000001000000000000" +
    Buffer.from("\x05svc-1\x05bench\x02zk\x08internal\x00", "latin1").toString("hex") +
    "00010001",
  "hex",
);
const miss = time(() => responder.respond(q, "udp"));
const n = 100_000;
const hit = time(() => {
  for (let i = 0; i < n; i++) responder.respond(q, "udp");
});

const rows = [
  ["instances", String(snapshot.instanceCount)],
  ["services", String(snapshot.services.size)],
  ["full build (CPU ms)", full.toFixed(1)],
  ["rebuild after one service changed (CPU ms, mean of 50)", (incremental / rounds).toFixed(2)],
  ["first answer after a change (cache miss, CPU µs)", (miss * 1000).toFixed(1)],
  ["cached answer, parse + assemble (CPU µs)", ((hit * 1000) / n).toFixed(2)],
  ["heap used (MiB)", (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)],
];
const w = Math.max(...rows.map((r) => (r[0] ?? "").length));
for (const [k, v] of rows) console.log(`${(k ?? "").padEnd(w)}  ${v}`);
