/**
 * `vhostlab probe`: the handshake only — what a back-end offers (features, protocol features,
 * queues, memory slots), by name and in hex.
 * @module
 */
import type { Command } from 'commander';
import { probeBackend } from '../../fakes/frontend/index.js';
import { addSessionOptions, withSession, type SessionCliOptions } from '../session-options.js';

/** Registers `probe`. */
export function register(program: Command): void {
  addSessionOptions(program.command('probe'))
    .description('handshake with a back-end and print what it offers')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
Connects (or, with --listen, waits for a back-end in client mode), sends GET_FEATURES,
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM and GET_MAX_MEM_SLOTS as QEMU does,
and prints the answers. Exit 3 when the back-end cannot be reached or answers nonsense.

Example:
  vhostlab probe --socket /tmp/vhost.sock --json`)
    .action(async (o: SessionCliOptions & { json?: boolean }) => {
      const info = await withSession(o, probeBackend);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      process.stdout.write([
        `features          ${info.features.hex}`,
        `                  ${info.features.names.join(' ')}`,
        `protocol features ${info.protocolFeatures.hex}`,
        `                  ${info.protocolFeatures.names.join(' ') || '(none)'}`,
        `queues            ${info.queues}`,
        `memory slots      ${info.maxMemSlots}`,
      ].join('\n') + '\n');
    });
}
