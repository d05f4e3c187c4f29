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
COPY deploy/gunicorn.conf.py /etc/model-review/gunicorn.conf.py

RUN useradd --system --uid 10001 --home-dir /home/model-review --create-home model-review
USER 10001
WORKDIR /home/model-review

EXPOSE 8080
# gunicorn's settings: deploy/gunicorn.conf.py (:8080, one process of 8 threads, access
# log on stdout). SIGTERM: gunicorn stops taking connections and lets requests in
# flight finish (graceful_timeout 25 s, under Kubernetes' default 30 s grace period);
# the in-process queue's reviews may finish within the same 25 s. Use the Redis queue
# for more than one web process (--workers N, or WEB_CONCURRENCY).
CMD ["gunicorn", "-c", "/etc/model-review/gunicorn.conf.py", "bot.webhook:create_app()"]
