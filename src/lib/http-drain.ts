// Closing the HTTP server at shutdown when clients hold keep-alive connections. server.close() alone
// stops accepting and closes the sockets idle at that moment, but a socket busy with a request stays
// open after its answer (keep-alive, 65 s), and the close waits for it. Here every answer given from the
// close on (those in flight and any that arrive on an open socket) carries `Connection: close`, so
// Node ends each socket after its answer; a socket whose answer had already started goes as soon as it
// is idle. The close resolves once every connection is gone.
import type { Server, ServerResponse } from 'node:http';

export interface DrainingServer {
  /** Stops accepting, closes idle sockets at once, lets what is in flight finish; resolves when all are closed. */
  close(): Promise<void>;
}

export function drainOnClose(server: Server): DrainingServer {
  let closing = false;
  const inFlight = new Set<ServerResponse>();
  function answered(this: ServerResponse): void {
    inFlight.delete(this);
    // Its socket is idle now, if the answer was already under way (keep-alive) when the close began.
    if (closing) server.closeIdleConnections();
  }
  // First of the request listeners: the header must be set before the application can answer.
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.on('close', answered);
  });
  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
