import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { HubError } from '../core/errors.js';
import type { ConnectionInfo, ListenerProtocol } from './access.js';

/** One listener as the broker opens it: TLS material already read. */
export interface ListenerSpec {
  protocol: ListenerProtocol;
  host: string;
  port: number;
  tls?: {
    cert: string | Buffer;
    key: string | Buffer;
    ca?: string | Buffer | undefined;
    requireClientCert: boolean;
    useCertCNAsUser: boolean;
  };
}

export interface OpenListener {
  readonly protocol: ListenerProtocol;
  readonly host: string;
  readonly port: number;
  /** Stops accepting; resolves once its connections are gone (the broker ends them). */
  close(): Promise<void>;
}

/** MQTT over WebSocket is served here, as Mosquitto and EMQX do. */
export const WS_PATH = '/mqtt';

/** A TLS handshake that takes longer is given up: an open socket that never speaks costs a file. */
const HANDSHAKE_MS = 10_000;

const certUserOf = (s: TLSSocket, spec: ListenerSpec): string | undefined => {
  if (!spec.tls?.useCertCNAsUser || !s.authorized) return undefined;
  const cn = s.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
};

/**
 * Opens one listener and hands each new connection's byte stream to `onConnection`:
 * plain TCP, TLS, or MQTT over WebSocket (binary frames at /mqtt) in the clear or over
 * TLS. Aedes takes any duplex stream, so every transport reaches the same framing.
 */
export async function openListener(
  spec: ListenerSpec,
  onConnection: (stream: Duplex, info: ConnectionInfo) => void,
): Promise<OpenListener> {
  const tlsOptions = spec.tls && {
    cert: spec.tls.cert,
    key: spec.tls.key,
    ...(spec.tls.ca ? { ca: spec.tls.ca } : {}),
    requestCert: spec.tls.requireClientCert,
    rejectUnauthorized: spec.tls.requireClientCert,
    handshakeTimeout: HANDSHAKE_MS,
  };
  let server: NetServer | HttpServer;
  let wss: WebSocketServer | undefined;
  if (spec.protocol === 'mqtt') {
    server = createNetServer((s: Socket) =>
      onConnection(s, { protocol: 'mqtt', remoteAddress: s.remoteAddress, certUser: undefined }),
    );
  } else if (spec.protocol === 'mqtts') {
    if (!tlsOptions) throw new Error('mqtts listener without TLS material');
    const tls = createTlsServer(tlsOptions);
    tls.on('secureConnection', (s: TLSSocket) =>
      onConnection(s, { protocol: 'mqtts', remoteAddress: s.remoteAddress, certUser: certUserOf(s, spec) }),
    );
    // A failed handshake (wrong CA, no client certificate) ends that socket only.
    tls.on('tlsClientError', () => undefined);
    server = tls;
  } else {
    const web = spec.protocol === 'wss' ? createHttpsServer(tlsOptions ?? {}) : createHttpServer();
    if (spec.protocol === 'wss') web.on('tlsClientError', () => undefined);
    // Anything but the WebSocket upgrade at /mqtt is not served.
    web.on('request', (_req, res) => {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`MQTT over WebSocket is served at ${WS_PATH}\n`);
    });
    wss = new WebSocketServer({
      server: web,
      path: WS_PATH,
      // The largest frame: the broker's own packet cap applies to MQTT inside.
      maxPayload: 64 * 1024 * 1024,
      // MQTT.js and Paho ask for "mqtt"; older clients for "mqttv3.1".
      handleProtocols: (protocols) =>
        protocols.has('mqtt') ? 'mqtt' : (protocols.values().next().value ?? false),
    });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      // A socket error ends the stream; the broker sees the close.
      stream.on('error', () => undefined);
      const sock = req.socket as TLSSocket;
      onConnection(stream, {
        protocol: spec.protocol,
        remoteAddress: sock.remoteAddress,
        certUser: spec.protocol === 'wss' ? certUserOf(sock, spec) : undefined,
      });
    });
    wss.on('error', () => undefined);
    server = web;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new HubError(
              'HUB_PORT_IN_USE',
              spec.protocol === 'mqtt'
                ? `MQTT port ${spec.host}:${spec.port} is in use (another process holds it; set mqtt.port)`
                : `MQTT ${spec.protocol} port ${spec.host}:${spec.port} is in use (set its port in mqtt.listeners)`,
            )
          : err,
      );
    });
    server.listen(spec.port, spec.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : spec.port;
  return {
    protocol: spec.protocol,
    host: spec.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        wss?.close();
        server.close(() => resolve());
        // Idle HTTP keep-alive sockets would hold close() open.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}
