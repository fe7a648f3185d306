// Small self-contained SVG charts for the sweep report: points, lines and error bars on a
// linear or logarithmic x axis.

export interface Point {
  x: number;
  y: number;
  lo?: number;
  hi?: number;
}

export interface Series {
  name: string;
  color: string;
  points: Point[];
  /** Join the points with a line (default true); false: markers only. */
  line?: boolean;
  dashed?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  series: Series[];
  /** Horizontal reference lines. */
  hLines?: { y: number; label: string }[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a > 0 && a < 0.01) return v.toExponential(0);
  return `${+v.toPrecision(3)}`;
}

export function chartSvg(c: Chart): string {
  const W = 760, H = 460, L = 70, R = 200, T = 40, B = 55;
  const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const pts = c.series.flatMap((s) => s.points).filter((p) => finite(p.x) && finite(p.y));
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">${esc(c.title)}: no data</text></svg>\n`;
  const fx = (x: number) => (c.logX ? Math.log10(x) : x);
  const xs = pts.map((p) => fx(p.x));
  const ys = [...pts.flatMap((p) => [p.y, p.lo, p.hi].filter(finite)), ...(c.hLines ?? []).map((h) => h.y)];
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.08;
  [x0, x1, y0, y1] = [x0 - px, x1 + px, y0 - py, y1 + py];
  const sx = (x: number) => L + ((fx(x) - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14">${esc(c.title)}</text>`);
  out.push(`<path d="M${L},${T} V${H - B} H${W - R}" stroke="#444" fill="none"/>`);
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    out.push(`<text x="${L - 6}" y="${sy(yv) + 4}" text-anchor="end">${fmtTick(yv)}</text>`);
    const xv = x0 + ((x1 - x0) * i) / 4;
    const xr = c.logX ? 10 ** xv : xv;
    out.push(`<text x="${sx(xr)}" y="${H - B + 16}" text-anchor="middle">${fmtTick(xr)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(c.xLabel)}${c.logX ? ' (log scale)' : ''}</text>`);
  out.push(`<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle" font-size="12">${esc(c.yLabel)}</text>`);
  for (const h of c.hLines ?? []) {
    out.push(`<path d="M${L},${sy(h.y).toFixed(1)} H${W - R}" stroke="#999" stroke-dasharray="2 3" fill="none"/>`);
    out.push(`<text x="${W - R - 4}" y="${sy(h.y) - 4}" text-anchor="end" fill="#666">${esc(h.label)}</text>`);
  }
  c.series.forEach((s, k) => {
    const ok = s.points.filter((p) => finite(p.x) && finite(p.y)).sort((a, b) => a.x - b.x);
    if (s.line !== false && ok.length > 1)
      out.push(`<path d="${ok.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}" stroke="${s.color}" stroke-width="1.5" fill="none"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of ok) {
      if (finite(p.lo) && finite(p.hi)) out.push(`<path d="M${sx(p.x).toFixed(1)},${sy(p.lo).toFixed(1)} V${sy(p.hi).toFixed(1)}" stroke="${s.color}" stroke-width="1.5"/>`);
      if (s.line === false || ok.length < 40) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    out.push(`<path d="M${W - R + 12},${T + 10 + 16 * k} h18" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${W - R + 36}" y="${T + 14 + 16 * k}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
