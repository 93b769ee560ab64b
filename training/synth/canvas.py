"""A supersampled RGBA drawing surface: painters draw in unit coordinates, edges come out smooth."""

from PIL import Image, ImageDraw

from training.synth.colors import RGBA

SUPERSAMPLE = 2


class Canvas:
    """Draw with coordinates in [0, 1] x [0, 1] of the item's own box."""

    def __init__(self, width: int, height: int) -> None:
        self.width = max(2, width)
        self.height = max(2, height)
        self._image = Image.new(
            "RGBA", (self.width * SUPERSAMPLE, self.height * SUPERSAMPLE), (0, 0, 0, 0)
        )
        self.draw = ImageDraw.Draw(self._image)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.width * SUPERSAMPLE, y * self.height * SUPERSAMPLE)

    def box(self, x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float]:
        (a, b), (c, d) = self.xy(x1, y1), self.xy(x2, y2)
        return (min(a, c), min(b, d), max(a, c), max(b, d))

    def px(self, fraction_of_height: float) -> int:
        """A line width or radius given as a fraction of the item's height."""
        return max(1, round(fraction_of_height * self.height * SUPERSAMPLE))

    def rect(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        fill: RGBA | None,
        radius: float = 0.0,
        outline: RGBA | None = None,
        width: float = 0.0,
    ) -> None:
        line = self.px(width) if outline is not None else 0
        if radius > 0:
            self.draw.rounded_rectangle(
                self.box(x1, y1, x2, y2), self.px(radius), fill=fill, outline=outline, width=line
            )
        else:
            self.draw.rectangle(self.box(x1, y1, x2, y2), fill=fill, outline=outline, width=line)

    def ellipse(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        fill: RGBA | None,
        outline: RGBA | None = None,
        width: float = 0.0,
    ) -> None:
        line = self.px(width) if outline is not None else 0
        self.draw.ellipse(self.box(x1, y1, x2, y2), fill=fill, outline=outline, width=line)

    def line(self, points: list[tuple[float, float]], fill: RGBA, width: float) -> None:
        self.draw.line([self.xy(x, y) for x, y in points], fill=fill, width=self.px(width))

    def polygon(self, points: list[tuple[float, float]], fill: RGBA) -> None:
        self.draw.polygon([self.xy(x, y) for x, y in points], fill=fill)

    def image(self) -> Image.Image:
        return self._image.resize((self.width, self.height), Image.Resampling.LANCZOS)
