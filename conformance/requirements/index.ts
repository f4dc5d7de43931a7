/**
 * The requirement catalogue (STYLE §25): every numbered requirement of CHECKLIST.md §5, generated
 * into `vhost-user.json` by `scripts/gen-requirements.mjs`, plus the reasons why some T0
 * MUST/ROBUST requirements cannot be observed from the other side of the socket
 * (`unobservable.json`). Cases reference requirements by id; the coverage report joins the two.
 * @module
 */
import { readFileSync } from 'node:fs';
import { conformancePath } from '../paths.js';

/** A requirement's primary level: the model's levels plus INFORMATIVE (VU-MQ-007). */
export type RequirementLevel = 'MUST' | 'SHOULD' | 'MAY' | 'ROBUST' | 'INTEROP' | 'INFORMATIVE';

/** Spec tier of CHECKLIST §0.2. */
export type RequirementTier = 'T0' | 'T1' | 'T2' | 'T3';

/** One row of a CHECKLIST §5 table. */
export interface Requirement {
  /** `VU-<GROUP>-<NNN>`. */
  readonly id: string;
  /** The first level word of the level cell (the one that applies to the whole requirement). */
  readonly level: RequirementLevel;
  /** The level cell as written, with its qualifications. */
  readonly levelText: string;
  readonly tier: RequirementTier;
  /** The requirement sentence. */
  readonly text: string;
  /** Where it comes from (spec section, commit, CVE). */
  readonly source: string;
  /** What the checklist suggests the tester does. */
  readonly observe: string;
  /** The §5 sub-section, e.g. `§5.1 VU-MSG — framing and generic message handling`. */
  readonly section: string;
}

/** A requirement no case checks, and why it cannot be observed from the socket. */
export interface UnobservableEntry {
  readonly id: string;
  readonly reason: string;
}

let requirements: readonly Requirement[] | undefined;

/** Every requirement, in checklist order. */
export function loadRequirements(): readonly Requirement[] {
  requirements ??= Object.freeze(
    (JSON.parse(readFileSync(conformancePath('requirements', 'vhost-user.json'), 'utf8')) as { requirements: Requirement[] }).requirements,
  );
  return requirements;
}

/** The requirement with `id`, if any. */
export function findRequirement(id: string): Requirement | undefined {
  return loadRequirements().find((r) => r.id === id);
}

/** The reasons kept in `unobservable.json`. */
export function loadUnobservable(): readonly UnobservableEntry[] {
  return (JSON.parse(readFileSync(conformancePath('requirements', 'unobservable.json'), 'utf8')) as { entries: UnobservableEntry[] }).entries;
}
