/**
 * Chart colours from the page's CSS variables (style.css), so charts follow the
 * light or dark theme; listeners hear when the system's colour scheme changes.
 */
export interface ChartTheme {
  line: string;
  band: string;
  minmax: string;
  second: string;
  grid: string;
  axis: string;
}

// Asked when needed, not at import: the pure helpers of the views are also imported by tests in Node.
const dark = () => window.matchMedia('(prefers-color-scheme: dark)');

export function chartTheme(): ChartTheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    line: v('--chart-line', '#2f7ed8'),
    band: v('--chart-band', 'rgba(47,126,216,0.14)'),
    minmax: v('--chart-minmax', 'rgba(47,126,216,0.35)'),
    second: v('--chart-second', '#2e8b57'),
    grid: v('--chart-grid', 'rgba(0,0,0,0.08)'),
    axis: v('--chart-axis', '#5b6775'),
  };
}

/** uPlot axis options in the theme's colours. */
export function themedAxis(t: ChartTheme): {
  stroke: string;
  grid: { stroke: string };
  ticks: { stroke: string };
} {
  return { stroke: t.axis, grid: { stroke: t.grid }, ticks: { stroke: t.grid } };
}

export function onThemeChange(fn: () => void): () => void {
  const mq = dark();
  mq.addEventListener('change', fn);
  return () => mq.removeEventListener('change', fn);
}
