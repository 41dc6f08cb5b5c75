import { connect } from 'node:net';
import type { HostPort } from '../config/types.js';
import { formatHostPort, settleOnce } from './outcome.js';
import type { CheckOutcome } from './outcome.js';

/** Opens a TCP connection and closes it again: the port accepts connections, nothing more. */
export function tcpCheck(endpoint: HostPort, signal: AbortSignal): Promise<CheckOutcome> {
  return new Promise<CheckOutcome>((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const finish = settleOnce(resolve, reject, () => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
    });
    const onAbort = (): void => {
      finish(new Error('aborted', { cause: signal.reason }));
    };
    socket.once('connect', () => {
      finish({ ok: true, detail: `connected to ${formatHostPort(endpoint.host, endpoint.port)}` });
    });
    socket.on('error', finish);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
