"""serve_app.api.readiness: /v1/ready asks the detectors at most once per interval."""

import asyncio
from pathlib import Path

import pytest

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.readiness import ReadinessCache
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.errors import NotReadyError
from serve_app.core.payloads import ModelsInfo
from serve_app.model.imaging import ImageLimits


class CountingPipeline(LocalPipeline):
    """The in-process pipeline, counting (and optionally slowing) its model listings."""

    calls = 0
    delay_s = 0.0

    async def models(self) -> ModelsInfo:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return await super().models()


@pytest.fixture
def pipeline(demo_model_dir: Path, models_root: Path) -> CountingPipeline:
    return CountingPipeline(demo_model_dir, models_root, ImageLimits(), "cpu")


async def test_concurrent_and_repeated_probes_share_one_listing(pipeline: CountingPipeline) -> None:
    pipeline.delay_s = 0.05
    readiness = ReadinessCache(pipeline, max_age_s=0.3, timeout_s=2.0)

    answers = await asyncio.gather(*(readiness.models() for _ in range(50)))
    repeated = [await readiness.models() for _ in range(20)]
    await asyncio.sleep(0.3)
    await readiness.models()

    assert {a.active.ref for a in answers + repeated} == {DEMO_MODEL}
    assert pipeline.calls == 2, "one listing for 70 probes, one more once it is 0.3 s old"


async def test_a_detector_that_does_not_answer_is_not_ready_and_not_cached(
    pipeline: CountingPipeline,
) -> None:
    pipeline.delay_s = 0.5
    readiness = ReadinessCache(pipeline, max_age_s=10.0, timeout_s=0.1)

    with pytest.raises(NotReadyError, match="no detector answered within"):
        await readiness.models()
    pipeline.delay_s = 0.0
    answer = await readiness.models()

    assert answer.active.ref == DEMO_MODEL and pipeline.calls == 2
