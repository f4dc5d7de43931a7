import { describe, expect, it } from 'vitest';
import { closeFd, socketPair, sendMsg, recvMsgSync } from '../../native/index.js';
import { FdProbe, stillOpen } from './ring-fd-probe.js';

describe('FdProbe', () => {
  it('sees the hang-up once every copy of the write end is closed', async () => {
    const [a, b] = socketPair();
    const probe = new FdProbe();
    sendMsg(a, new Uint8Array([1]), [probe.writeFd]);
    probe.sent();
    const got = recvMsgSync(b, 16, 4, 1000);
    expect(got.fds).toHaveLength(1);
    // The "peer" still holds its copy: no hang-up yet.
    expect(await probe.closedByPeer(50)).toBe(false);
    closeFd(got.fds[0]);
    expect(await probe.closedByPeer(1000)).toBe(true);
    probe.close();
    closeFd(a);
    closeFd(b);
  });

  it('stillOpen lists the probes the peer kept', async () => {
    const [a, b] = socketPair();
    const probes = [new FdProbe(), new FdProbe()];
    sendMsg(a, new Uint8Array([1]), probes.map((p) => p.writeFd));
    const got = recvMsgSync(b, 16, 4, 1000);
    closeFd(got.fds[0]);
    expect(await stillOpen(probes, 100)).toEqual([1]);
    closeFd(got.fds[1]);
    closeFd(a);
    closeFd(b);
  });
});
