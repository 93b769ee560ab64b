() =>
  // Every visible form control without an accessible name: a label, aria-label(ledby), or text.
  [...document.querySelectorAll("input, select, textarea, button")]
    .filter((control) => control.offsetParent !== null)
    .filter(
      (control) =>
        !(
          control.labels?.length ||
          control.getAttribute("aria-label") ||
          control.getAttribute("aria-labelledby") ||
          (control.tagName === "BUTTON" && control.textContent.trim())
        ),
    )
    .map((control) => control.outerHTML)
