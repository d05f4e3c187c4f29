# The webhook App: `docker build -t model-review .`
#   web (default):  gunicorn on :8080, GET /healthz /readyz /metrics, POST /webhook
#   worker:         docker run ... model-review worker   (probe: model-review worker --check)
# Dependencies come from requirements/app.txt, checked by hash (deploy/install.sh).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/model-review/bin:$PATH

WORKDIR /src
COPY requirements/ requirements/
COPY pyproject.toml README.md ./
COPY templates/ templates/
COPY bot/ bot/
COPY deploy/install.sh deploy/install.sh
RUN sh deploy/install.sh /src /opt/model-review && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /home/model-review --create-home model-review
USER 10001
WORKDIR /home/model-review

EXPOSE 8080
# SIGTERM: gunicorn stops taking connections and lets requests in flight finish
# (--graceful-timeout, under Kubernetes' default 30 s grace period); the reviews of
# the in-process queue get 25 s more at exit. Use the Redis queue for more than one
# web process.
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "1", "--threads", "8", \
     "--graceful-timeout", "25", "--timeout", "60", \
     "--access-logfile", "-", "bot.webhook:create_app()"]
