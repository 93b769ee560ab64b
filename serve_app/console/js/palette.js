// One colour per label; the service's annotated images use the same palette and hash
// (serve_app/model/annotate.py), so both pictures agree.
const PALETTE = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40],
];

export function labelRgb(label) {
  let value = 0;
  for (let i = 0; i < label.length; i += 1) {
    value = (Math.imul(value, 31) + label.charCodeAt(i)) >>> 0;
  }
  return PALETTE[value % PALETTE.length];
}

export function labelColor(label) {
  return `rgb(${labelRgb(label).join(", ")})`;
}

export function inkOn(label) {
  const [red, green, blue] = labelRgb(label);
  return 0.299 * red + 0.587 * green + 0.114 * blue > 140 ? "#000000" : "#ffffff";
}
