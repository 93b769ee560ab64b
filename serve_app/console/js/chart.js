// One item's history as an SVG chart: the mean per bucket as a line, min–max as a band, the
// par level as a dashed line. No library.
const WIDTH = 640;
const HEIGHT = 240;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function drawHistory(chart, points, parLevel, bucket) {
  chart.replaceChildren();
  if (points.length === 0) return;
  const times = points.map((p) => Date.parse(p.start));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const top = Math.max(1, parLevel ?? 0, ...points.map((p) => p.max));
  const x = (t) => PAD.left + (last === first ? 0.5 : (t - first) / (last - first)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom);

  chart.append(
    svg("line", { class: "axis", x1: PAD.left, y1: y(0), x2: WIDTH - PAD.right, y2: y(0) }),
    svg("line", { class: "axis", x1: PAD.left, y1: y(0), x2: PAD.left, y2: y(top) }),
    svg("text", { x: PAD.left - 6, y: y(top) + 4, "text-anchor": "end" }, String(top)),
    svg("text", { x: PAD.left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
    svg("text", { x: PAD.left, y: HEIGHT - 8 }, label(first, bucket)),
    svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 8, "text-anchor": "end" }, label(last, bucket)),
  );
  const upper = points.map((p, i) => `${x(times[i])},${y(p.max)}`);
  const lower = points.map((p, i) => `${x(times[i])},${y(p.min)}`).reverse();
  if (points.length > 1) {
    chart.append(svg("polygon", { class: "band", points: [...upper, ...lower].join(" ") }));
    chart.append(svg("polyline", { class: "mean", points: points.map((p, i) => `${x(times[i])},${y(p.mean)}`).join(" ") }));
  }
  for (const [i, p] of points.entries()) {
    chart.append(svg("circle", { class: "dot", cx: x(times[i]), cy: y(p.mean), r: 4 }));
  }
  if (parLevel !== null && parLevel !== undefined) {
    chart.append(svg("line", { class: "par", x1: PAD.left, y1: y(parLevel), x2: WIDTH - PAD.right, y2: y(parLevel) }));
  }
}

function label(time, bucket) {
  const date = new Date(time);
  return bucket === "day" ? date.toISOString().slice(0, 10) : date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
