import { writeFileSync } from 'node:fs';

// vega and vega-lite ship ESM only (with top-level await), and the CommonJS transpile of this file would turn a
// plain import() into require(); a Function-built import() survives the transpile.
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(s: string) => Promise<T>;

interface VegaLite {
  compile(spec: object): { spec: object };
}
interface Vega {
  parse(spec: object): object;
  View: new (runtime: object, options: { renderer: 'none' }) => { toSVG(): Promise<string> };
}

export interface Curve {
  labels: number[];
  accuracy_mean: number[];
  accuracy_std: number[];
}

/** Learning curves (mean with a +-1 std band) as a PNG rendered from Vega-Lite in Node. */
export async function plotCurves(curves: Record<string, Curve>, title: string, file: string): Promise<void> {
  const vl = await importEsm<VegaLite>('vega-lite');
  const vega = await importEsm<Vega>('vega');
  const { Resvg } = await import('@resvg/resvg-js');
  const values = Object.entries(curves).flatMap(([strategy, c]) =>
    c.labels.map((labels, i) => ({
      strategy,
      labels,
      accuracy: c.accuracy_mean[i],
      lo: c.accuracy_mean[i] - c.accuracy_std[i],
      hi: c.accuracy_mean[i] + c.accuracy_std[i],
    })),
  );
  const all = values.map((v) => v.accuracy);
  const floor = Math.max(0, Math.floor(quantile(all, 0.1) * 20) / 20);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: 400,
    background: 'white',
    data: { values },
    encoding: {
      x: { field: 'labels', type: 'quantitative', title: 'labels' },
      color: { field: 'strategy', type: 'nominal' },
    },
    layer: [
      {
        mark: { type: 'errorband', opacity: 0.2, clip: true },
        encoding: {
          y: { field: 'lo', type: 'quantitative', title: 'test accuracy', scale: { domain: [floor, 1] } },
          y2: { field: 'hi' },
        },
      },
      {
        mark: { type: 'line', point: true, clip: true },
        encoding: { y: { field: 'accuracy', type: 'quantitative' } },
      },
    ],
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg: string = await view.toSVG();
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, fitTo: { mode: 'zoom', value: 1.5 } })
    .render()
    .asPng();
  writeFileSync(file, png);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}
