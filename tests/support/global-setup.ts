import { buildAvrTools } from '../../simulators/avr/build.js';

/** Builds the simavr harness and the pty relay once per run, before any test file: the board tests need them. */
export default async function setup(): Promise<void> {
  await buildAvrTools();
}
