/**
 * One registry for every error code the hub reports and every reason a payload is
 * quarantined. README.md documents each one; tests/unit/errors.test.ts fails when
 * a code is missing there.
 */

export const HUB_ERRORS = {
  HUB_CONFIG_INVALID: 'The configuration does not match the schema; each problem is listed with its path.',
  HUB_CONFIG_UNREADABLE: 'The configuration file could not be read or is not valid YAML.',
  HUB_PORT_IN_USE: 'A port the hub listens on is taken by another process.',
  HUB_INFLUXD_MISSING:
    'No InfluxDB URL is configured and the influxd binary (Debian package influxdb) is not installed.',
  HUB_INFLUXD_FAILED: 'The managed influxd process did not start or exited.',
  HUB_INFLUX_UNREACHABLE: 'The configured InfluxDB server did not answer.',
  HUB_START_FAILED:
    'A part of the hub failed to start for a reason without a code of its own; the message names the part, `cause` holds the error.',
  HUB_BOARD_DEPS_MISSING:
    'A board is configured but johnny-five, firmata-io or serialport is not installed (they are optional: npm install johnny-five firmata-io serialport).',
  HUB_BAD_REQUEST: 'An HTTP API request has a missing or invalid parameter.',
  HUB_UNAUTHORIZED:
    'The HTTP route needs a sign-in: Authorization: Bearer <http.token> (or ?token=), or a session from POST /api/login.',
  HUB_NOT_FOUND: 'No such HTTP route, device or sensor.',
  HUB_CONFLICT:
    'The HTTP request conflicts with the configuration (e.g. removing a device the config declares).',
  HUB_STREAM_FULL: 'The live stream already serves http.maxStreamClients clients; retry later.',
  HUB_INTERNAL: 'An HTTP request failed inside the hub; the hub log has the details under the request id.',
  HUB_PASSWORD_FILE: 'mqtt.passwordFile cannot be read, or a public listener would have no users.',
  HUB_TLS_FILES: 'A TLS certificate, key or CA file cannot be read or does not fit the others.',
  HUB_FORBIDDEN: 'The signed-in user lacks the role the HTTP route needs (admin).',
} as const;

export type HubErrorCode = keyof typeof HUB_ERRORS;

export class HubError extends Error {
  readonly code: HubErrorCode;
  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
  }
}

export const QUARANTINE_REASONS = {
  payload_too_large: 'The payload is larger than mqtt.maxPayloadBytes.',
  not_utf8: 'The payload is not valid UTF-8 text.',
  invalid_json: 'The payload starts like JSON but does not parse.',
  not_a_number: 'A value is not a number, a numeric string or a boolean.',
  non_finite: 'A value is NaN or infinite.',
  invalid_id: 'A device or sensor id is not of [A-Za-z0-9_.-]{1,64}.',
  unknown_topic: 'No decoder handles this topic.',
  reserved_topic:
    'A client published under hub/ or $SYS/, which only the hub itself publishes (a device must not spoof its readings or states).',
  unknown_unit: 'The unit is not known, or cannot be converted to the metric’s canonical unit.',
  invalid_timestamp: 'The timestamp cannot be read as a date.',
  invalid_shape: 'The JSON has the wrong shape for its topic (e.g. an array, or no value field).',
  out_of_range: 'The value is outside the plausible range of its metric.',
  empty_payload: 'The payload is empty.',
  device_limit:
    'A reading of a new device while the registry holds registry.maxDevices devices; known devices keep working.',
  sensor_limit:
    'A reading of a new sensor of a device that has registry.maxSensorsPerDevice sensors; its known sensors keep working.',
  // Points InfluxDB refused for good: retrying cannot help, so they leave the spool into the quarantine.
  influx_type_conflict:
    'InfluxDB refused the point: its measurement already has a field `value` of another type (written by another tool).',
  influx_retention: 'InfluxDB refused the point: its time is older than the raw retention policy keeps.',
  influx_rejected:
    'InfluxDB refused the point with 400 (e.g. it cannot parse it); found by halving the batch.',
  influx_too_large: 'A single point is larger than InfluxDB accepts (413).',
} as const;

export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

/** Thrown by decoders and pipeline steps; the pipeline turns it into a quarantine entry. */
export class RejectError extends Error {
  readonly reason: QuarantineReason;
  constructor(reason: QuarantineReason, detail: string) {
    super(detail);
    this.name = 'RejectError';
    this.reason = reason;
  }
}
