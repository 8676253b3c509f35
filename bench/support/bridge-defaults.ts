/** The bridge's own defaults for --zone and --base-path, which no bench overrides. */
export const ZONE = "zk.internal.";
export const BASE_PATH = "/services";
