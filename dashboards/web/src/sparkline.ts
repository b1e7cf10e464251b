const SPARK_W = 80;
const SPARK_H = 22;

/** A small trend line on a canvas: cheaper than a chart per sensor when there are thousands. */
export function drawSparkline(canvas: HTMLCanvasElement, input: readonly number[], color: string): void {
  const dpr = window.devicePixelRatio || 1;
  // The CSS size is fixed (style.css canvas.spark); reading clientWidth here would
  // force a synchronous layout for every sparkline drawn between DOM writes.
  const w = SPARK_W;
  const h = SPARK_H;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  let values = input;
  if (values.length === 0) return;
  // One bucket so far (a new sensor): a flat line says "known, no trend yet".
  if (values.length === 1) values = [values[0]!, values[0]!];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min || 1;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (w - 2) + 1;
    const y = h - 2 - ((v - min) / span) * (h - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.25;
  ctx.stroke();
}
