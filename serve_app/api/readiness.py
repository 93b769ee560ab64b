"""What /v1/ready answers, without a Detector call per request.

The probe is public and unlimited, and every kubelet, load balancer and monitor calls it: the
pipeline's model listing (an RPC to a Detector, a scan of the manifests) is asked at most once
per `max_age_s`, and callers arriving meanwhile share that one call.
"""

import asyncio
import time

from serve_app.core.errors import NotReadyError
from serve_app.core.payloads import ModelsInfo
from serve_app.core.pipeline import DetectionPipeline


class ReadinessCache:
    def __init__(self, pipeline: DetectionPipeline, max_age_s: float, timeout_s: float) -> None:
        self._pipeline = pipeline
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._answer: ModelsInfo | None = None
        self._answered_at = float("-inf")
        self._pending: asyncio.Task[ModelsInfo] | None = None

    async def models(self) -> ModelsInfo:
        """A recent enough answer, or a fresh one (`NotReadyError` if none came in time)."""
        if self._answer is not None and time.monotonic() - self._answered_at < self._max_age_s:
            return self._answer
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._ask())
        return await asyncio.shield(self._pending)

    async def _ask(self) -> ModelsInfo:
        try:
            answer = await asyncio.wait_for(self._pipeline.models(), self._timeout_s)
        except TimeoutError:
            self._answer = None
            raise NotReadyError(f"no detector answered within {self._timeout_s:.0f} s") from None
        except BaseException:
            self._answer = None
            raise
        self._answer, self._answered_at = answer, time.monotonic()
        return answer
