() => {
  // WCAG 2 contrast of every visible element's own text against the first opaque background
  // behind it: the elements below 4.5:1 (3:1 for large text).
  const rgb = (text) => text.match(/[\d.]+/g).map(Number);
  const luminance = (color) => {
    const [r, g, b] = color.map((value) => {
      const v = value / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (start) => {
    for (let node = start; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length === 3 || color[3] === 1) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const node of document.querySelectorAll("body *")) {
    const ownText = [...node.childNodes].some((child) => child.nodeType === 3 && child.textContent.trim());
    if (!ownText || node.offsetParent === null || node.closest(".visually-hidden")) continue;
    const style = getComputedStyle(node);
    const text = luminance(rgb(style.color).slice(0, 3));
    const behind = luminance(background(node));
    const ratio = (Math.max(text, behind) + 0.05) / (Math.min(text, behind) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${node.tagName}#${node.id} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}
