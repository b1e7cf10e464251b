/**
 * What the broker asks of access control (hub/security/mqtt-access.ts makes one). The
 * broker knows connections, packets and Aedes; who may do what is decided there.
 */

export type ListenerProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss';

/** What the listener knows of a connection before its CONNECT. */
export interface ConnectionInfo {
  readonly protocol: ListenerProtocol;
  readonly remoteAddress: string | undefined;
  /** The CN of a verified client certificate, when the listener takes it as the user (useCertCNAsUser). */
  readonly certUser: string | undefined;
}

/** Who a connection is once signed in: its user (undefined: anonymous) and client id. */
export interface Principal {
  readonly user: string | undefined;
  readonly clientId: string;
}

export type SignInResult =
  | { ok: true; user: string | undefined }
  /** returnCode as MQTT 3.1.1 CONNACK: 4 bad user name or password, 5 not authorized. */
  | { ok: false; returnCode: 4 | 5 };

export interface BrokerAccess {
  signIn(
    conn: ConnectionInfo,
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<SignInResult>;
  /** Why `p` may not publish to `topic` (a reason label), or undefined. Called per message: cached. */
  publish(p: Principal, topic: string): string | undefined;
  /** Why `p` may not subscribe to `filter`, or undefined. */
  subscribe(p: Principal, filter: string): string | undefined;
  /** A refusal the broker made itself (too many connections), counted and logged like the others. */
  denied(reason: string, fields: Record<string, unknown>): void;
}
