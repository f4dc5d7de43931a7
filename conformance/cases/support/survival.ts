/**
 * "The back-end survives": after a request it should refuse, the spec lets a back-end answer with
 * a failure or close the connection (CHECKLIST D15), but never die of it. A process that
 * exited is left to the runner, which blames deaths by signal (and, for a peer that serves many
 * connections, any exit) on the case; a live one must serve a fresh connection.
 * @module
 */
import type { FrontendSession } from '../../../fakes/frontend/index.js';
import type { CaseContext, Observation } from '../../model.js';
import { stillServes } from '../../verify/ring-outcome.js';
import type { CheckResult } from '../../verify/ring-verdict.js';
import { sleep } from '../../verify/ring-wait.js';

/**
 * Whether the peer still serves after `o` was its answer on `session`. When it closed the
 * connection, waits the quiet window first so a dying process is seen as dead: opening a fresh
 * session would otherwise restart a one-connection peer and hide the death from the runner.
 */
export async function survives(ctx: CaseContext, session: FrontendSession, o: Observation): Promise<CheckResult> {
  if (o.kind === 'closed' || session.connection.isBroken) await sleep(ctx.quietMs, ctx.signal);
  if (ctx.peerAlive() === false) return undefined;
  return stillServes(session, () => ctx.openSession());
}
