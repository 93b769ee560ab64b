// Boxes and `label score` tags on a canvas, in the frame's own pixels, as the service draws
// them on annotated images.
import { inkOn, labelColor } from "./palette.js";

export function drawFrame(canvas, bitmap, detections) {
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
  }
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const side = Math.min(canvas.width, canvas.height);
  const line = Math.max(2, Math.round(side / 240));
  const fontSize = Math.max(11, Math.round(side / 36));
  context.font = `${fontSize}px system-ui, sans-serif`;
  context.textBaseline = "top";
  // The best detection last, so that its tag lies on top where tags overlap.
  for (const detection of [...detections].sort((a, b) => a.score - b.score)) {
    // Whole pixels, as Pillow draws them: crisp lines, the same pixels as the annotated JPEG.
    const [x1, y1, x2, y2] = detection.box.map(Math.floor);
    const color = labelColor(detection.label);
    context.strokeStyle = color;
    context.lineWidth = line;
    context.strokeRect(x1 + line / 2, y1 + line / 2, x2 - x1 - line, y2 - y1 - line);
    const text = `${detection.label} ${detection.score.toFixed(2)}`;
    const tagWidth = context.measureText(text).width + 2 * line;
    const tagHeight = fontSize + 2 * line;
    const tagX = Math.max(0, Math.min(x1, canvas.width - tagWidth));
    const tagY = y1 >= tagHeight ? y1 - tagHeight : y1;
    context.fillStyle = color;
    context.fillRect(tagX, tagY, tagWidth, tagHeight);
    context.fillStyle = inkOn(detection.label);
    context.fillText(text, tagX + line, tagY + line);
  }
}
