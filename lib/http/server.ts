/**
 * The HTTP side: probes, Prometheus metrics and what DNS serves. Built apart from listening so
 * tests use `inject()`; it only reads state, never drives the pipelines.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

/** One part of the process that must be ready (ZooKeeper, Kubernetes caches, DNS, staleness…). */
export interface ReadinessPart {
  readonly ready: boolean;
  /** Why not, or progress ("412 of 1000 services"): shown to the operator. */
  readonly detail?: string;
}

export interface HttpState {
  /** The loops are running (liveness). */
  alive(): boolean;
  /** Each named part's readiness; the process is ready when all are. */
  readiness(): Record<string, ReadinessPart>;
  /** What the DNS side currently serves, as JSON. */
  registrations(): unknown;
  readonly metrics: Registry;
}

export function buildHttp(state: HttpState): FastifyInstance {
  const app = Fastify({ logger: false });

  app.get("/healthz", async (_req, reply) => {
    const alive = state.alive();
    return reply.code(alive ? 200 : 503).send({ status: alive ? "ok" : "stalled" });
  });

  app.get("/readyz", async (_req, reply) => {
    const parts = state.readiness();
    const notReady = Object.entries(parts)
      .filter(([, p]) => !p.ready)
      .map(([name]) => name);
    return reply
      .code(notReady.length === 0 ? 200 : 503)
      .send({ status: notReady.length === 0 ? "ready" : "not ready", notReady, parts });
  });

  app.get("/metrics", async (_req, reply) => {
    const body = await state.metrics.metrics();
    return reply.type(state.metrics.contentType).send(body);
  });

  app.get("/registrations", async () => state.registrations());

  return app;
}
