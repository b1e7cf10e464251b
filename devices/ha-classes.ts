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

/** A numeric HA sensor; most are measurements, counters (energy) are total_increasing. */
const sensor = (
  deviceClass: string,
  unit: string,
  stateClass: HaSensorClass['stateClass'] = 'measurement',
): HaSensorClass => ({ component: 'sensor', deviceClass, unit, stateClass });

/** How the hub announces a canonical metric; units are the HA spellings of the canonical ones. */
export const METRIC_TO_HA: Readonly<Record<string, HaSensorClass>> = {
  temperature: sensor('temperature', '°C'),
  dew_point: sensor('temperature', '°C'),
  humidity: sensor('humidity', '%'),
  moisture: sensor('moisture', '%'),
  pressure: sensor('pressure', 'Pa'),
  illuminance: sensor('illuminance', 'lx'),
  voltage: sensor('voltage', 'V'),
  current: sensor('current', 'A'),
  power: sensor('power', 'W'),
  energy: sensor('energy', 'Wh', 'total_increasing'),
  battery: sensor('battery', '%'),
  co2: sensor('carbon_dioxide', 'ppm'),
  voc: sensor('volatile_organic_compounds_parts', 'ppm'),
  pm2_5: sensor('pm25', 'µg/m³'),
  pm10: sensor('pm10', 'µg/m³'),
  rssi: sensor('signal_strength', 'dBm'),
  distance: sensor('distance', 'm'),
  wind_speed: sensor('wind_speed', 'm/s'),
  frequency: sensor('frequency', 'Hz'),
  motion: { component: 'binary_sensor', deviceClass: 'motion' },
  occupancy: { component: 'binary_sensor', deviceClass: 'occupancy' },
  contact: { component: 'binary_sensor', deviceClass: 'opening' },
  button: { component: 'binary_sensor' },
};
