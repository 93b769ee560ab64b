"""(c) The same API and model behind one plain uvicorn process: the shape this product replaces."""

import argparse

import torch
import uvicorn

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs
from serve_app.core.payloads import ModelRef
from serve_app.core.settings import get_settings
from serve_app.inventory.migrate import upgrade
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.model.imaging import ImageLimits
from serve_app.model.manifest import model_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True, help="name:version")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per forward")
    parser.add_argument("--workers", type=int, default=2, help="requests processed at once")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = get_settings().models_root
    pipeline = LocalPipeline(
        model_dir(root, ModelRef.parse(args.model)),
        root,
        ImageLimits(),
        "cpu",
        workers=args.workers,
        threads=args.threads,
    )
    settings = get_settings()
    # As `medinv start` does before the Serve deployments: the webhook and camera loops read
    # their tables from the first second.
    upgrade(settings.resolved_database_url)
    inventory = InventoryRecorder.open(settings)
    app = create_api(pipeline, inventory, IngressArgs(), settings, behind_serve_proxy=False)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
