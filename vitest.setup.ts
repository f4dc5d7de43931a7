/**
 * fast-check's seed for every property test (STYLE §32): VHOSTLAB_SEED when set; in CI a fixed
 * seed so a run is repeatable; otherwise a fresh one each run, printed so a failure can be
 * replayed with VHOSTLAB_SEED=<seed> npm test.
 */
import fc from 'fast-check';

const fromEnv = process.env.VHOSTLAB_SEED;
const seed = fromEnv !== undefined ? Number(fromEnv) : process.env.CI ? 20261125 : Date.now() % 2 ** 31;
if (!Number.isInteger(seed)) throw new Error(`VHOSTLAB_SEED must be an integer, got '${fromEnv}'`);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
