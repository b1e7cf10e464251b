import type { Capability, ControllerDef, EdgesDef, J5Component, SensorKind } from './definition.js';

// Wiring
export const analogIn = (): Capability => ({ wiring: 'analog' });
export const digitalIn = (): Capability => ({ wiring: 'digital' });
export const i2c = (address: number): Capability => ({ wiring: 'i2c', address });
export const oneWire = (): Capability => ({ wiring: 'onewire' });

// Driver
export const j5 = (component: J5Component, j5Controller?: string): Capability => ({
  component,
  j5Controller,
});
/** The raw ADC value 0..1023, mapped by `scale:` when given. */
export const rawValue = (): Capability => ({
  scalable: true,
  outputs: [{ metric: 'analog', unit: '1', path: 'value' }],
});
export const edges = (e: EdgesDef): Capability => ({ edges: e });

// Readings. The path says where Johnny-Five keeps the value; a Multi component nests them.
export const temperature = (path = 'celsius'): Capability => ({
  outputs: [{ metric: 'temperature', unit: 'Cel', path }],
});
export const humidity = (path = 'relativeHumidity'): Capability => ({
  outputs: [{ metric: 'humidity', unit: '%RH', path }],
});
/** Johnny-Five reports pressure in kPa; the pipeline converts it to Pa. */
export const pressure = (path = 'pressure'): Capability => ({
  outputs: [{ metric: 'pressure', unit: 'kPa', path }],
});
export const illuminance = (path = 'lux'): Capability => ({
  outputs: [{ metric: 'illuminance', unit: 'lx', path }],
});
/** An LDR on an analog pin gives a relative level, not lux. */
export const lightLevel = (): Capability => ({
  outputs: [{ metric: 'light_level', unit: '%', path: 'level', factor: 100 }],
});
export const binary = (metric: string): Capability => ({ outputs: [{ metric, unit: '1', path: 'state' }] });

/** Merges capabilities into a controller; later ones add readings and override wiring. */
export function controller(name: string, ...caps: Capability[]): ControllerDef {
  const merged: Capability = { outputs: [] };
  for (const c of caps) {
    const outputs = [...merged.outputs!, ...(c.outputs ?? [])];
    Object.assign(merged, c, { outputs });
  }
  if (!merged.wiring || !merged.component || !merged.outputs?.length)
    throw new Error(`controller ${name} needs a wiring, a component and at least one reading`);
  return { ...merged, name, wiring: merged.wiring, component: merged.component, outputs: merged.outputs };
}

export function kind(type: string, description: string, controllers: ControllerDef[]): SensorKind {
  return {
    type,
    description,
    defaultController: controllers[0]!.name,
    controllers: Object.fromEntries(controllers.map((c) => [c.name, c])),
  };
}
