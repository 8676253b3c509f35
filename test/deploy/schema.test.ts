/**
 * Every object of every rendered variant is valid against the Kubernetes schemas (types,
 * required fields, enums, and no field the API does not define).
 */
import { describe, expect, it } from "vitest";
import { BRIDGE, type K8sObject, one, ref, render, schemaErrors, VARIANTS } from "./manifests.js";

describe.each(Object.entries(VARIANTS))("%s (%s)", (_variant, dir) => {
  it("renders and every object is valid against the Kubernetes schemas", async () => {
    const objects = render(dir);
    expect(objects.length).toBeGreaterThan(0);
    const errors: string[] = [];
    for (const o of objects) {
      const why = await schemaErrors(o);
      if (why) errors.push(`${ref(o)}: ${why}`);
    }
    expect(errors).toEqual([]);
  });
});

describe("the schema check itself", () => {
  // A copy of the real Deployment with one defect each: proves the check is not vacuous.
  const deployment = () => structuredClone(one(render(VARIANTS.base), "Deployment", BRIDGE));
  const container = (d: K8sObject) =>
    (d as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } })
      .spec.template.spec.containers[0] as Record<string, unknown>;

  it("accepts the unmodified Deployment", async () => {
    expect(await schemaErrors(deployment())).toBe("");
  });

  it("rejects a misspelt field the API server would silently drop", async () => {
    const d = deployment();
    container(d).securityContext = { readOnlyRootFileSystem: true };
    expect(await schemaErrors(d)).toMatch(/readOnlyRootFileSystem/);
  });

  it("rejects a value of the wrong type", async () => {
    const d = deployment();
    container(d).ports = [{ name: "dns", containerPort: "1053", protocol: "UDP" }];
    expect(await schemaErrors(d)).toMatch(/containerPort must be integer/);
  });

  it("rejects an enum value the API does not know", async () => {
    const d = deployment();
    container(d).ports = [{ name: "dns", containerPort: 1053, protocol: "DNS" }];
    expect(await schemaErrors(d)).toMatch(/protocol/);
  });

  it("rejects a missing required field", async () => {
    const d = deployment();
    delete container(d).name;
    expect(await schemaErrors(d)).toMatch(/name/);
  });

  it("rejects a kind it has no schema for", async () => {
    const d = { ...deployment(), apiVersion: "apps/v1beta9" };
    expect(await schemaErrors(d)).toMatch(/no schema/);
  });
});
