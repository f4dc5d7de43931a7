/**
 * Known findings (`--known FILE|DIR`): reproducers of bugs already reported, whose class a
 * campaign counts and steps over instead of stopping at, so a fuzzer run against a back-end with
 * a known bug (DPDK 22.11's packed chain walk) can look for the next one.
 *
 * A finding's class is its signature: the kind plus the summary with every number masked, so
 * "slot 9 … buffer id 0" and "slot 3 … buffer id 7" are one class while another oracle or another
 * message is another. Reproducers store the signature they were found with (`failure.signature`);
 * older ones without it are matched by the signature of their recorded summary.
 * @module
 */

/** The class of a finding of `kind` summarised as `summary`. */
export function findingSignature(kind: string, summary: string): string {
  // Hex and decimal numbers that are values; digits inside names (VU-PK-002, vhost0) stay.
  const masked = summary
    .replace(/(?<![\w-])(?:0x[0-9a-f]+|\d+(?:\.\d+)?)/gi, (n) => (n.toLowerCase().startsWith('0x') ? '0x#' : '#'))
    // A list of values is one value, however long: "(ids 3, 9, 2)" and "(ids 1)" are one class.
    .replace(/#(?:, #)+/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
  return `${kind}: ${masked}`;
}

/** One known class and where it came from. */
export interface KnownFinding {
  readonly signature: string;
  /** The reproducer it was read from (a file name), shown when the class is met. */
  readonly label: string;
}

/** How often a known class was met in a campaign. */
export interface KnownHit {
  readonly label: string;
  readonly signature: string;
  readonly count: number;
}

/** A set of known classes. */
export class KnownFindings {
  private readonly bySignature = new Map<string, KnownFinding>();

  constructor(entries: readonly KnownFinding[]) {
    for (const e of entries) if (!this.bySignature.has(e.signature)) this.bySignature.set(e.signature, e);
  }

  /** Number of distinct classes. */
  get size(): number {
    return this.bySignature.size;
  }

  /** The known class `f` belongs to, or undefined for a new finding. */
  match(f: { readonly kind: string; readonly summary: string }): KnownFinding | undefined {
    return this.bySignature.get(findingSignature(f.kind, f.summary));
  }
}
