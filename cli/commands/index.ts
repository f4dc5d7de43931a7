/**
 * The list of sub-commands. Each entry registers one command on the program; add a line here
 * when a new `cli/commands/<name>.ts` lands.
 * @module
 */
import type { Command } from 'commander';
import { register as backend } from './backend.js';
import { register as conformance } from './conformance.js';
import { register as probe } from './probe.js';
import { register as report } from './report.js';
import { register as traffic } from './traffic.js';
import { register as fuzz } from './fuzz.js';

/** A sub-command registrar. */
export type RegisterCommand = (program: Command) => void;

/** Every sub-command, in the order `--help` lists them. */
export const commands: RegisterCommand[] = [
  probe,
  traffic,
  backend,
  report,
  fuzz,
  conformance,
];
