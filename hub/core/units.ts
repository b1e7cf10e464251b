/**
 * Units as UCUM/SenML codes. Each unit is defined by the canonical unit of its
 * quantity and an affine map onto it: canonical = value * factor + offset.
 * Differences (a 2 °F rise) use the factor only: the offset belongs to absolute
 * scales, never to intervals.
 */
export interface UnitDef {
  code: string;
  /** Canonical unit of this quantity. */
  base: string;
  factor: number;
  offset: number;
}

const defs: UnitDef[] = [];
const aliases = new Map<string, string>();

function unit(code: string, base: string, factor: number, offset: number, ...names: string[]): void {
  defs.push({ code, base, factor, offset });
  aliases.set(code.toLowerCase(), code);
  for (const n of names) aliases.set(n.toLowerCase(), code);
}

// temperature
unit('Cel', 'Cel', 1, 0, '°C', 'C', 'degC', 'celsius', '℃');
unit('K', 'Cel', 1, -273.15, 'kelvin');
unit('[degF]', 'Cel', 5 / 9, (-32 * 5) / 9, '°F', 'F', 'degF', 'fahrenheit', '℉');
// pressure
unit('Pa', 'Pa', 1, 0, 'pascal');
unit('hPa', 'Pa', 100, 0, 'mbar', 'millibar');
unit('kPa', 'Pa', 1000, 0);
unit('bar', 'Pa', 100_000, 0);
unit('[psi]', 'Pa', 6894.757293168, 0, 'psi');
unit("[in_i'Hg]", 'Pa', 3386.389, 0, 'inHg', 'in_hg');
unit('mm[Hg]', 'Pa', 133.322387415, 0, 'mmHg', 'mm_hg', 'torr');
// humidity and ratios
unit('%RH', '%RH', 1, 0, '%rh', 'rh');
unit('%', '%', 1, 0, 'percent', 'pct');
unit('/', '/', 1, 0, 'ratio');
unit('1', '1', 1, 0, '', 'count', 'none');
// light
unit('lx', 'lx', 1, 0, 'lux');
unit('klx', 'lx', 1000, 0, 'kilolux');
// electricity
unit('V', 'V', 1, 0, 'volt', 'volts');
unit('mV', 'V', 0.001, 0, 'millivolt');
unit('A', 'A', 1, 0, 'amp', 'ampere');
unit('mA', 'A', 0.001, 0);
unit('W', 'W', 1, 0, 'watt');
unit('kW', 'W', 1000, 0);
unit('Wh', 'Wh', 1, 0);
unit('kWh', 'Wh', 1000, 0);
unit('VA', 'VA', 1, 0);
unit('var', 'var', 1, 0, 'VAr');
unit('Hz', 'Hz', 1, 0);
// air quality and concentration
unit('ppm', 'ppm', 1, 0);
unit('ppb', 'ppm', 0.001, 0);
unit('ug/m3', 'ug/m3', 1, 0, 'µg/m³', 'µg/m3', 'μg/m³', 'ug/m³');
// distance, speed, other
unit('m', 'm', 1, 0, 'meter', 'metre');
unit('cm', 'm', 0.01, 0);
unit('mm', 'm', 0.001, 0);
unit('km', 'm', 1000, 0);
unit('m/s', 'm/s', 1, 0);
unit('km/h', 'm/s', 1 / 3.6, 0, 'kph', 'kmh');
unit('[mi_i]/h', 'm/s', 0.44704, 0, 'mph');
unit('s', 's', 1, 0, 'sec', 'seconds');
unit('ms', 's', 0.001, 0);
unit('min', 's', 60, 0);
unit('h', 's', 3600, 0);
unit('dB', 'dB', 1, 0);
unit('dBm', 'dBm', 1, 0);
unit('deg', 'deg', 1, 0, '°', 'degrees');
unit('rad', 'deg', 180 / Math.PI, 0);
unit('kg', 'kg', 1, 0);
unit('g', 'kg', 0.001, 0);
unit('l', 'l', 1, 0, 'L', 'liter', 'litre');
unit('m3', 'l', 1000, 0, 'm³');
unit('l/min', 'l/min', 1, 0, 'L/min');
unit('mm/h', 'mm/h', 1, 0);

const byCode = new Map(defs.map((d) => [d.code, d]));

/** Resolves a unit as devices write it ("°F", "hPa", "degC") to its UCUM/SenML code. */
export function resolveUnit(input: string): UnitDef | undefined {
  const code = byCode.has(input) ? input : aliases.get(input.trim().toLowerCase());
  return code === undefined ? undefined : byCode.get(code);
}

export function knownUnitCodes(): string[] {
  return defs.map((d) => d.code);
}

/**
 * Converts a value between units of one quantity. With `difference`, only the
 * scale applies (a 2 °F difference is 1.11 K, not -16.7 °C).
 * Returns undefined when the units measure different quantities.
 */
export function convert(value: number, from: UnitDef, to: UnitDef, difference = false): number | undefined {
  if (from.base !== to.base) return undefined;
  if (from.code === to.code) return value;
  if (difference) return (value * from.factor) / to.factor;
  const canonical = value * from.factor + from.offset;
  return (canonical - to.offset) / to.factor;
}
