import { describe, expect, it } from "vitest";
import { FormatError } from "../../lib/formats/format-error.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import {
  type Change,
  chunksByParent,
  type OwnedNode,
  plan,
  targetOf,
} from "../../lib/sync/plan.js";
import { desired } from "./support.js";

const S = "aaaa"; // this session
const OLD = "bbbb"; // an earlier incarnation

const render = (d: DesiredRegistration) => Buffer.from(`${d.address}:${d.port}:${d.draining}`);

function owned(d: DesiredRegistration, owner = S, data = render(d), path?: string): OwnedNode {
  const t = targetOf(d);
  return { ...t, path: path ?? `${t.parent}/${t.id}`, version: 3, data, owner };
}

const summary = (changes: Change[]) =>
  changes.map((c) => `${c.kind} ${c.kind === "create" ? c.target.id : c.node.path}`).sort();

const rows: Array<{
  title: string;
  owned: OwnedNode[];
  desired: DesiredRegistration[];
  allowDeletes: boolean;
  want: string[];
}> = [
  { title: "nothing to do", owned: [], desired: [], allowDeletes: true, want: [] },
  {
    title: "new endpoint is created",
    owned: [],
    desired: [desired("a")],
    allowDeletes: false,
    want: ["create a"],
  },
  {
    title: "unchanged node of this session is left alone",
    owned: [owned(desired("a"))],
    desired: [desired("a")],
    allowDeletes: true,
    want: [],
  },
  {
    title: "changed bytes are updated in place",
    owned: [owned(desired("a"), S, Buffer.from("old"))],
    desired: [desired("a")],
    allowDeletes: false,
    want: ["update /services/web.shop/a"],
  },
  {
    title: "a node of an earlier incarnation is adopted, even if unchanged",
    owned: [owned(desired("a"), OLD)],
    desired: [desired("a")],
    allowDeletes: false,
    want: ["adopt /services/web.shop/a"],
  },
  {
    title: "vanished endpoint is removed once deletes are allowed",
    owned: [owned(desired("a")), owned(desired("b"))],
    desired: [desired("a")],
    allowDeletes: true,
    want: ["remove /services/web.shop/b"],
  },
  {
    title: "before both sides synced nothing is removed",
    owned: [owned(desired("a")), owned(desired("b"))],
    desired: [],
    allowDeletes: false,
    want: [],
  },
  {
    title:
      "before both sides synced, an earlier incarnation's unknown node is carried over, not dropped",
    owned: [owned(desired("b"), OLD)],
    desired: [],
    allowDeletes: false,
    want: ["adopt /services/web.shop/b"],
  },
  {
    title: "duplicate ServerSet members: keep this session's, remove the rest",
    owned: [
      owned(
        desired("a", "10.0.0.1", { format: "serverset", parent: "/ss/web" }),
        OLD,
        undefined,
        "/ss/web/member_0000000001",
      ),
      owned(
        desired("a", "10.0.0.1", { format: "serverset", parent: "/ss/web" }),
        S,
        undefined,
        "/ss/web/member_0000000002",
      ),
    ],
    desired: [desired("a", "10.0.0.1", { format: "serverset", parent: "/ss/web" })],
    allowDeletes: true,
    want: ["remove /ss/web/member_0000000001"],
  },
  {
    title: "two pods behind one node:NodePort make one ServerSet member",
    owned: [],
    desired: [
      desired("p1", "192.168.1.1", { format: "serverset", parent: "/ss/web" }),
      desired("p2", "192.168.1.1", { format: "serverset", parent: "/ss/web" }),
    ],
    allowDeletes: true,
    want: ["create p1"],
  },
  {
    title: "one endpoint in two formats is two nodes",
    owned: [],
    desired: [desired("a"), desired("a", "10.0.0.1", { format: "serverset", parent: "/ss/web" })],
    allowDeletes: true,
    want: ["create a", "create a"],
  },
];

describe("plan", () => {
  it.each(rows)("$title", ({ owned: o, desired: d, allowDeletes, want }) => {
    expect(summary(plan(o, d, { session: S, allowDeletes, render }))).toEqual([...want].sort());
  });

  it("update carries the rendered bytes and the node's version", () => {
    const node = owned(desired("a"), S, Buffer.from("old"));
    const [c] = plan([node], [desired("a", "10.0.0.9")], {
      session: S,
      allowDeletes: true,
      render,
    });
    expect(c).toMatchObject({
      kind: "update",
      node: { version: 3 },
      data: Buffer.from("10.0.0.9:8080:false"),
    });
  });

  it("a registration that cannot be rendered is left out as if not desired, and reported", () => {
    const refuse = (d: DesiredRegistration) => {
      if (d.address === "bad") throw new FormatError("address is not an IP literal", d.address);
      return render(d);
    };
    const reported: string[] = [];
    const run = (allowDeletes: boolean) =>
      summary(
        plan(
          [owned(desired("a")), owned(desired("b"), OLD)],
          [desired("a", "bad"), desired("b", "bad"), desired("c")],
          {
            session: S,
            allowDeletes,
            render: refuse,
            onUnwritable: (d, err) => reported.push(`${d.id}: ${err.reason}`),
          },
        ),
      );
    // Before deletes are allowed an old incarnation's node is kept (adopted as it is).
    expect(run(false)).toEqual(["adopt /services/web.shop/b", "create c"]);
    expect(run(true)).toEqual([
      "create c",
      "remove /services/web.shop/a",
      "remove /services/web.shop/b",
    ]);
    expect(reported).toEqual([
      "a: address is not an IP literal",
      "b: address is not an IP literal",
      "a: address is not an IP literal",
      "b: address is not an IP literal",
    ]);
    // Anything else render throws is a bug, not bad input: it is not swallowed.
    expect(() =>
      plan([], [desired("a")], {
        session: S,
        allowDeletes: true,
        render: () => {
          throw new TypeError("boom");
        },
      }),
    ).toThrow("boom");
  });
});

describe("chunksByParent", () => {
  // A mixed registry: 40 parents, some nodes ours from this session or an old one, some stale,
  // some desired and unwritten, duplicates and ServerSets among them.
  function registry(seed: number) {
    let x = seed;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    const wanted: DesiredRegistration[] = [];
    const nodes: OwnedNode[] = [];
    for (let i = 0; i < 600; i++) {
      const parent = `/services/svc-${rand(40)}`;
      const format = rand(4) === 0 ? "serverset" : "curator";
      const d = desired(`p${rand(300)}`, `10.0.${rand(3)}.${rand(250)}`, { parent, format });
      const fate = rand(5);
      if (fate !== 0) wanted.push(d);
      if (fate !== 1) {
        const data = rand(3) === 0 ? Buffer.from("stale") : render(d);
        nodes.push(owned(d, rand(2) === 0 ? S : OLD, data, `${parent}/n${i}`));
      }
    }
    return { wanted, nodes };
  }

  it.each([1, 2, 3])(
    "planning chunk by chunk gives the same changes as all at once (seed %i)",
    (seed) => {
      const { wanted, nodes } = registry(seed);
      for (const allowDeletes of [false, true]) {
        const opts = { session: S, allowDeletes, render };
        const whole = summary(plan(nodes, wanted, opts));
        const chunks = chunksByParent(nodes, wanted, 50);
        expect(chunks.length).toBeGreaterThan(5);
        const parts = chunks.flatMap((c) => plan(c.owned, c.desired, opts));
        expect(summary(parts)).toEqual(whole);
        expect(whole.length).toBeGreaterThan(100);
      }
    },
  );

  it("keeps each parent whole and every item exactly once", () => {
    const { wanted, nodes } = registry(7);
    const chunks = chunksByParent(nodes, wanted, 50);
    const home = new Map<string, number>();
    chunks.forEach((c, i) => {
      for (const item of [...c.owned, ...c.desired]) {
        expect(home.get(item.parent) ?? i).toBe(i);
        home.set(item.parent, i);
      }
    });
    expect(chunks.flatMap((c) => c.owned)).toHaveLength(nodes.length);
    expect(chunks.flatMap((c) => c.desired)).toHaveLength(wanted.length);
    expect(new Set(chunks.flatMap((c) => c.owned))).toEqual(new Set(nodes));
  });
});
