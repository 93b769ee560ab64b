"""One open WebSocket of `WS /v1/stream`: frames in, one result or error message per processed
frame out, the session's state saved as it goes."""

import asyncio
import json
import logging
import time

from fastapi import WebSocket
from pydantic import ValidationError

from serve_app.access.authn import Principal
from serve_app.access.ratelimit import BudgetName, Decision
from serve_app.api.context import ApiContext
from serve_app.api.first_completed import first_completed
from serve_app.api.frame_scheduler import Frame, FrameScheduler, Message, elapsed_ms
from serve_app.api.guards import key_revocation, refused
from serve_app.api.recording import StreamRecorder
from serve_app.api.schemas.detection import (
    ImageInfo,
    ModelRefOut,
    StreamConfigMessage,
    StreamErrorMessage,
    StreamResultMessage,
    detections_out,
)
from serve_app.core.errors import InvalidParameterError, PayloadTooLargeError, ServiceError
from serve_app.core.payloads import DetectParams
from serve_app.state.stream_state import StreamState

logger = logging.getLogger("ray.serve")

# A config or ping message is a few dozen bytes; anything this large is refused unparsed.
MAX_TEXT_MESSAGE_BYTES = 64 * 1024
# What an error reply may say about an invalid message: a few problems, never the message.
_MAX_PROBLEMS = 5
_MAX_PROBLEM_CHARS = 120


class StreamConnection:
    """One open WebSocket of a stream session: reads frames, schedules them latest-wins
    (`FrameScheduler`), answers each processed one and saves the session's state, until the
    client leaves or its key is revoked."""

    def __init__(
        self,
        websocket: WebSocket,
        context: ApiContext,
        principal: Principal,
        state: StreamState,
        recorder: StreamRecorder | None,
    ) -> None:
        self._websocket = websocket
        self._context = context
        self._principal = principal
        self._state = state
        self._params = DetectParams(state.min_score, state.max_detections)
        self._recorder = recorder
        self._send_lock = asyncio.Lock()
        self._until_refused = key_revocation(websocket, context)
        stream_args = context.args.stream
        self._scheduler = FrameScheduler(
            self._process, stream_args.max_pending_frames, stream_args.max_in_flight_frames
        )

    async def run(self) -> None:
        metrics = self._context.metrics
        metrics.stream_opened()
        sender = asyncio.create_task(self._send_results())
        try:
            refusal: ServiceError | None = await first_completed(
                self._receive_until_disconnect, self._until_refused
            )
        finally:
            # Cancel everything before the first await: this cleanup may itself be cancelled.
            metrics.stream_closed()
            sender.cancel()
            outstanding = self._scheduler.cancel()
            # asyncio.wait, not gather: a gather cancelled here would raise the CancelledError
            # of a task cancelled above, which the anyio scope cancelling this handler (as
            # Starlette's does on close) does not recognise as its own and lets escape.
            await asyncio.wait([sender, *outstanding])
        if refusal is not None:
            raise refusal

    async def _receive_until_disconnect(self) -> None:
        frame_number = self._state.next_frame
        max_bytes = self._context.args.limits.max_body_bytes
        while True:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                data: bytes = message["bytes"]
                if len(data) > max_bytes:
                    too_large = PayloadTooLargeError(
                        f"frame is {len(data)} bytes; the limit is {max_bytes} bytes"
                    )
                    await self._send(error_message(frame_number, too_large))
                elif not (budget := await self._spend_frame()).allowed:
                    await self._send(error_message(frame_number, refused(budget, "frames")))
                else:
                    frame = Frame(frame_number, data, self._params, time.perf_counter())
                    dropped_before = self._scheduler.dropped
                    self._scheduler.offer(frame)
                    if self._scheduler.dropped > dropped_before:
                        self._context.metrics.frames("dropped")
                frame_number += 1
                self._state.next_frame = frame_number
            elif message.get("text") is not None:
                await self._handle_text(message["text"])

    async def _spend_frame(self) -> Decision:
        return await self._context.access.spend(self._principal, BudgetName.FRAMES)

    async def _handle_text(self, text: str) -> None:
        if len(text) > MAX_TEXT_MESSAGE_BYTES or len(text.encode()) > MAX_TEXT_MESSAGE_BYTES:
            error = InvalidParameterError(
                f"text messages are limited to {MAX_TEXT_MESSAGE_BYTES} bytes"
            )
            await self._send(error_message(None, error))
            return
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            await self._send(error_message(None, InvalidParameterError("text is not JSON")))
            return
        if isinstance(payload, dict) and payload.get("type") == "ping":
            await self._send({"type": "pong"})
            return
        try:
            config = StreamConfigMessage.model_validate(payload)
        except ValidationError as exc:
            await self._send(error_message(None, InvalidParameterError(describe(exc))))
            return
        self._params = DetectParams(
            min_score=config.min_score if config.min_score is not None else self._params.min_score,
            max_detections=config.max_detections or self._params.max_detections,
        )
        self._state.min_score = self._params.min_score
        self._state.max_detections = self._params.max_detections

    async def _process(self, frame: Frame) -> Message:
        metrics = self._context.metrics
        try:
            result, cache = await self._context.state.results.detect(frame.data, frame.params)
            observed = await self._recorder.observe(frame, result) if self._recorder else None
        except ServiceError as error:
            metrics.frames("error")
            return error_message(frame.number, error)
        except Exception:
            logger.exception("frame %d failed", frame.number)
            metrics.frames("error")
            return error_message(frame.number, ServiceError("an internal error occurred"))
        metrics.frames("answered")
        await self._save_state()
        if cache != "hit":
            metrics.observe_result(result)
        return StreamResultMessage(
            frame=frame.number,
            model=ModelRefOut(name=result.model.name, version=result.model.version),
            image=ImageInfo(width=result.image_width, height=result.image_height),
            detections=detections_out(result),
            counts=result.counts,
            latency_ms=elapsed_ms(frame.received_at),
            dropped=0,
            recorded=observed.recorded if observed else None,
            zones=observed.zones if observed else None,
        ).model_dump()

    async def _save_state(self) -> None:
        if self._recorder is not None:
            self._recorder.update(self._state)
        await self._context.state.streams.save(self._state)

    async def _send_results(self) -> None:
        while True:
            message = await self._scheduler.next_result()
            if message["type"] == "result":
                message["dropped"] = self._scheduler.dropped
            await self._send(message)

    async def _send(self, message: Message) -> None:
        async with self._send_lock:
            await self._websocket.send_json(message)


def error_message(frame: int | None, error: ServiceError) -> Message:
    return StreamErrorMessage(frame=frame, code=error.code, message=error.message).model_dump()


async def send_error(websocket: WebSocket, frame: int | None, error: ServiceError) -> None:
    await websocket.send_json(error_message(frame, error))


def describe(exc: ValidationError) -> str:
    """The first few problems, each cut short: the reply stays small whatever was sent."""
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"[:_MAX_PROBLEM_CHARS]
        for err in exc.errors()[:_MAX_PROBLEMS]
    ]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
