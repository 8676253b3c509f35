/** A znode's bytes are not a registration we can serve (or a registration we cannot write). */
export class FormatError extends Error {
  override readonly name = "FormatError";

  /** Short, stable, greppable cause, e.g. `not JSON`, `missing address`, `bad port`. */
  readonly reason: string;

  constructor(reason: string, detail?: string) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.reason = reason;
  }
}
