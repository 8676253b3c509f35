/** Markdown tables, padded so they also read well in a terminal. */

/** Renders `rows` (first row = header) as a GitHub markdown table; numeric-looking cells right-aligned. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  if (!header) return "";
  const widths = header.map((_, i) => Math.max(3, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) =>
    body.every((r) => /^[-–0-9.,×% ]*[0-9–]+[0-9.,×%a-zA-Z ]*$/.test(r[i] ?? "") || r[i] === ""),
  );
  const line = (r: readonly string[]) =>
    `| ${widths.map((w, i) => (numeric[i] ? (r[i] ?? "").padStart(w) : (r[i] ?? "").padEnd(w))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (numeric[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...body.map(line)].join("\n");
}
