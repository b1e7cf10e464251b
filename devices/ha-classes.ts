/**
 * Home Assistant device classes and the hub's metrics, both ways: used to read the
 * discovery configs ESPHome and others publish, and to write the hub's own
 * (developers.home-assistant.io/docs/core/entity/sensor#available-device-classes).
 */
export const CLASS_TO_METRIC: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  humidity: 'humidity',
  moisture: 'moisture',
  pressure: 'pressure',
  atmospheric_pressure: 'pressure',
  illuminance: 'illuminance',
  voltage: 'voltage',
  current: 'current',
  power: 'power',
  energy: 'energy',
  battery: 'battery',
  carbon_dioxide: 'co2',
  volatile_organic_compounds_parts: 'voc',
  pm25: 'pm2_5',
  pm10: 'pm10',
  signal_strength: 'rssi',
  distance: 'distance',
  wind_speed: 'wind_speed',
  frequency: 'frequency',
  motion: 'motion',
  occupancy: 'occupancy',
  door: 'contact',
  window: 'contact',
  opening: 'contact',
};

export interface HaSensorClass {
  component: 'sensor' | 'binary_sensor';
  deviceClass?: string;
  /** The unit as Home Assistant expects it for the class. */
  unit?: string;
  stateClass?: 'measurement' | 'total_increasing';
}

/** How the hub announces a canonical metric; units are the HA spellings of the canonical ones. */
export const METRIC_TO_HA: Readonly<Record<string, HaSensorClass>> = {
  temperature: { component: 'sensor', deviceClass: 'temperature', unit: '°C', stateClass: 'measurement' },
  dew_point: { component: 'sensor', deviceClass: 'temperature', unit: '°C', stateClass: 'measurement' },
  humidity: { component: 'sensor', deviceClass: 'humidity', unit: '%', stateClass: 'measurement' },
  moisture: { component: 'sensor', deviceClass: 'moisture', unit: '%', stateClass: 'measurement' },
  pressure: { component: 'sensor', deviceClass: 'pressure', unit: 'Pa', stateClass: 'measurement' },
  illuminance: { component: 'sensor', deviceClass: 'illuminance', unit: 'lx', stateClass: 'measurement' },
  voltage: { component: 'sensor', deviceClass: 'voltage', unit: 'V', stateClass: 'measurement' },
  current: { component: 'sensor', deviceClass: 'current', unit: 'A', stateClass: 'measurement' },
  power: { component: 'sensor', deviceClass: 'power', unit: 'W', stateClass: 'measurement' },
  energy: { component: 'sensor', deviceClass: 'energy', unit: 'Wh', stateClass: 'total_increasing' },
  battery: { component: 'sensor', deviceClass: 'battery', unit: '%', stateClass: 'measurement' },
  co2: { component: 'sensor', deviceClass: 'carbon_dioxide', unit: 'ppm', stateClass: 'measurement' },
  voc: {
    component: 'sensor',
    deviceClass: 'volatile_organic_compounds_parts',
    unit: 'ppm',
    stateClass: 'measurement',
  },
  pm2_5: { component: 'sensor', deviceClass: 'pm25', unit: 'µg/m³', stateClass: 'measurement' },
  pm10: { component: 'sensor', deviceClass: 'pm10', unit: 'µg/m³', stateClass: 'measurement' },
  rssi: { component: 'sensor', deviceClass: 'signal_strength', unit: 'dBm', stateClass: 'measurement' },
  distance: { component: 'sensor', deviceClass: 'distance', unit: 'm', stateClass: 'measurement' },
  wind_speed: { component: 'sensor', deviceClass: 'wind_speed', unit: 'm/s', stateClass: 'measurement' },
  frequency: { component: 'sensor', deviceClass: 'frequency', unit: 'Hz', stateClass: 'measurement' },
  motion: { component: 'binary_sensor', deviceClass: 'motion' },
  occupancy: { component: 'binary_sensor', deviceClass: 'occupancy' },
  contact: { component: 'binary_sensor', deviceClass: 'opening' },
  button: { component: 'binary_sensor' },
};
