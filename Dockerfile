# The application image of the RayService: the rayproject/ray base whose Ray version equals
# the RayService's rayVersion, plus this package and its pinned dependencies.
#   docker build --build-arg VARIANT=cpu -t registry.example.com/medinv/serve:0.1.0-cpu .
#   docker build --build-arg VARIANT=gpu -t registry.example.com/medinv/serve:0.1.0-gpu .
ARG RAY_VERSION=2.60.0
ARG VARIANT=cpu
FROM rayproject/ray:${RAY_VERSION}-py311-${VARIANT}

ARG RAY_VERSION
ARG VARIANT
# CPU images take torch's CPU wheels (no CUDA libraries); GPU images the default CUDA ones.
ARG TORCH_INDEX_CPU=https://download.pytorch.org/whl/cpu

# The runtime user: `medinv`, uid/gid 10001 (the pods' runAsUser/runAsGroup/fsGroup), above
# the range host accounts use (uids below 10000 may be real users of the node). The base
# image's `ray` user (uid 1000) owns the conda environment and installs into it; nothing in it
# is writable at run time (pods set readOnlyRootFilesystem). HOME is an empty directory the
# pods mount an emptyDir on (caches: ~/.cache, CUDA's ~/.nv; Ray reads ~/.ray).
USER root
RUN groupadd --gid 10001 medinv \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /home/medinv \
      --shell /bin/bash medinv \
 && install -d -o 10001 -g 10001 -m 0750 /home/medinv \
 && chmod 0755 /home/ray   # medinv runs the conda environment in /home/ray/anaconda3
USER ray
WORKDIR /home/ray/app
COPY --chown=ray:users pyproject.toml README.md ./
COPY --chown=ray:users serve_app ./serve_app
# ONNX Runtime: the CPU wheel comes with the package; GPU images replace it with onnxruntime-gpu
# (CUDA and TensorRT providers, CPU included). The two must never be installed together.
ARG ONNXRUNTIME_VERSION=1.31.1
RUN if [ "$VARIANT" = cpu ]; then extra="--extra-index-url $TORCH_INDEX_CPU"; else extra=""; fi \
 && pip install --no-cache-dir $extra . \
 && if [ "$VARIANT" = gpu ]; then \
      pip uninstall -y onnxruntime \
      && pip install --no-cache-dir "onnxruntime-gpu==${ONNXRUNTIME_VERSION}"; \
    fi \
 && python -c "import ray, serve_app.serving.app; assert ray.__version__ == '${RAY_VERSION}', ray.__version__"

# Models come from the read-only volume the RayService mounts here.
ENV MEDINV_MODELS_ROOT=/models
ENV HOME=/home/medinv
USER 10001:10001
