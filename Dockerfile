FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
WORKDIR /app
# The CPU build of torch for the local embedding model (the default PyPI wheel on Linux is the large CUDA one).
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml setup.py README.md ./
COPY sidecar ./sidecar
COPY providers ./providers
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN pip install --no-cache-dir -e ".[local]"
RUN useradd --create-home marquee && mkdir -p /data /libraries && chown marquee /data /libraries
USER marquee
EXPOSE 8787
CMD ["marquee", "serve"]
