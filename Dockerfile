# The sweep worker image that the Kubernetes example in docs/ runs. From a checkout:
#   docker build -t sweep:0.2.0 .        (then tag and push it to your registry)
# It holds the installed wheel and Debian's Fashion-MNIST, so a worker needs no internet, only its storage URL.
FROM python:3.11-slim

# The same four .gz files Keras downloads, in /usr/share/datasets/fashion-mnist/ where sweep looks first.
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/*

# Build the wheel from this checkout and install it, as `pip install sweep-*.whl` would; the source goes away.
COPY pyproject.toml README.md /src/
COPY sweep /src/sweep
COPY search_spaces /src/search_spaces
RUN pip install --no-cache-dir /src && rm -rf /src

# Results (the SQLite default, logs, exports) land under /work/results; mount a volume there to keep them.
WORKDIR /work
ENTRYPOINT ["sweep"]
CMD ["run"]
