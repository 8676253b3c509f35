/**
 * DNS names as the bridge handles them: lowercase, absolute text (`web.shop.zk.internal.`),
 * built only from labels that survive every resolver and zone file unescaped.
 */

/** RFC 1035 limits. */
export const MAX_LABEL_LENGTH = 63;
/** Wire length of a name, including the length bytes and the root label. */
export const MAX_NAME_WIRE_LENGTH = 255;

/**
 * A label the bridge publishes: 1–63 letters, digits, `-` or `_`. Anything else (dots,
 * spaces, non-ASCII, `@`, `:`) would need escaping and breaks naive clients, so it is skipped.
 */
const LABEL = /^[A-Za-z0-9_-]{1,63}$/;

export function isPublishableLabel(label: string): boolean {
  return LABEL.test(label);
}

/** An instance id or port name also must not start with `_` (reserved for `_port._tcp`). */
export function isPublishableHostLabel(label: string): boolean {
  return LABEL.test(label) && label.charCodeAt(0) !== 0x5f;
}

/** Wire length of an absolute name given by its labels (root included). */
export function wireLength(labels: readonly string[]): number {
  let n = 1;
  for (const l of labels) n += l.length + 1;
  return n;
}

/**
 * Parse a zone given by an operator (`zk.internal`, `zk.internal.`, `ZK.Internal.`) into
 * lowercase labels. Throws on a name the bridge could not serve.
 */
export function parseZone(zone: string): string[] {
  const trimmed = zone.endsWith(".") ? zone.slice(0, -1) : zone;
  if (trimmed === "") throw new Error(`zone "${zone}": the root zone cannot be served`);
  const labels = trimmed.toLowerCase().split(".");
  for (const l of labels) {
    if (!isPublishableLabel(l)) {
      throw new Error(`zone "${zone}": label "${l}" is not 1-63 letters, digits, '-' or '_'`);
    }
  }
  if (wireLength(labels) > MAX_NAME_WIRE_LENGTH) {
    throw new Error(`zone "${zone}": longer than 255 bytes on the wire`);
  }
  return labels;
}

/** `["web","shop"]` → `web.shop.` relative to nothing: absolute text with the trailing dot. */
export function fqdn(labels: readonly string[]): string {
  return labels.length === 0 ? "." : `${labels.join(".")}.`;
}

/**
 * Split a textual name (`Web.Shop.zk.internal.` or without the final dot) into labels as
 * written. `\.` and `\DDD` escapes are honoured so a label containing a dot stays one label.
 */
export function splitName(name: string): string[] {
  if (name === "" || name === ".") return [];
  if (!name.includes("\\")) {
    const body = name.endsWith(".") ? name.slice(0, -1) : name;
    return body.split(".");
  }
  const labels: string[] = [];
  let cur = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (c === "\\") {
      const digits = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits)) {
        cur += String.fromCharCode(Number(digits));
        i += 3;
      } else {
        cur += name[i + 1] ?? "";
        i += 1;
      }
    } else if (c === ".") {
      labels.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  if (cur !== "") labels.push(cur);
  return labels;
}
