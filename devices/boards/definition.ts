/**
 * Board sensor kinds as data. A kind (thermometer, hygrometer, ...) lists the
 * controllers (parts) it supports; each controller is assembled from small
 * capabilities (capabilities.ts): how it is wired, which Johnny-Five component
 * drives it, and which readings it gives. hub/boards turns a configured sensor and
 * its controller into a running Johnny-Five component; nothing here imports it.
 */

/** How a part is wired to the board. */
export type Wiring = 'analog' | 'digital' | 'i2c' | 'onewire';

/** The Johnny-Five component class that drives a part. */
export type J5Component =
  | 'Sensor'
  | 'Thermometer'
  | 'Hygrometer'
  | 'Barometer'
  | 'Multi'
  | 'Light'
  | 'Motion'
  | 'Button';

/** One reading a part gives: which metric, in which unit, read from which property of the component. */
export interface OutputDef {
  metric: string;
  unit: string;
  /** Dotted property path on the Johnny-Five component, e.g. "thermometer.celsius". */
  path: string;
  /** Applied to the property before unit conversion (e.g. 100 turns a 0..1 level into %). */
  factor?: number;
}

/** Event-driven parts (buttons, PIRs) report on each edge instead of being sampled. */
export interface EdgesDef {
  on: string;
  off: string;
}

export interface ControllerDef {
  /** The name in config (`controller:`), also Johnny-Five's controller name unless j5Controller says otherwise. */
  name: string;
  wiring: Wiring;
  component: J5Component;
  /** Johnny-Five's controller option; undefined for its default (a plain analog or digital part). */
  j5Controller?: string | undefined;
  /** Default I2C address, for I2C parts. */
  address?: number | undefined;
  outputs: OutputDef[];
  edges?: EdgesDef | undefined;
  /** Accepts `scale:` (raw 0..1023 onto a range). */
  scalable?: boolean | undefined;
}

export interface SensorKind {
  type: string;
  description: string;
  /** Used when the config names no controller. */
  defaultController: string;
  controllers: Readonly<Record<string, ControllerDef>>;
}

/** What a capability adds to a controller; controller() merges them in order. */
export type Capability = Partial<Omit<ControllerDef, 'name' | 'outputs'>> & { outputs?: OutputDef[] };
